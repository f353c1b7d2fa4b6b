package ssl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
)

// randMatrix returns a b×d matrix of normal values, as float64 rows and as float32 tensor.
func randMatrix(rng *rand.Rand, b, d int) ([][]float64, *tensors.Tensor) {
	rows := make([][]float64, b)
	flat := make([]float32, 0, b*d)
	for i := range rows {
		rows[i] = make([]float64, d)
		for k := range rows[i] {
			v := float32(rng.NormFloat64())
			rows[i][k] = float64(v)
			flat = append(flat, v)
		}
	}
	return rows, tensors.FromFlatDataAndDimensions(flat, b, d)
}

// cosine is the cosine similarity of two vectors.
func cosine(a, b []float64) float64 {
	var ab, aa, bb float64
	for k := range a {
		ab += a[k] * b[k]
		aa += a[k] * a[k]
		bb += b[k] * b[k]
	}
	return ab / math.Sqrt(aa*bb)
}

func TestBYOLLossMatchesNaive(t *testing.T) {
	backend := medssl.MustBackend()
	rng := rand.New(rand.NewPCG(3, 4))
	exec := graph.MustNewExec(backend, BYOLLoss)
	for _, tc := range []struct{ b, d int }{{1, 2}, {4, 3}, {6, 16}} {
		q, qt := randMatrix(rng, tc.b, tc.d)
		z, zt := randMatrix(rng, tc.b, tc.d)
		want := 0.0
		for i := range q {
			want += 2 - 2*cosine(q[i], z[i])
		}
		want /= float64(tc.b)
		got := float64(exec.MustExec1(qt, zt).Value().(float32))
		if math.Abs(got-want) > 1e-5 {
			t.Errorf("B=%d D=%d: BYOLLoss=%v, naive=%v", tc.b, tc.d, got, want)
		}
	}
}

// BYOL on real BreastMNIST: the loss falls within 30 steps.
func TestBYOLLossFallsOnBreastMNIST(t *testing.T) {
	cfg := emaTestConfig(NewBYOL())
	cfg.Encoder, cfg.Steps, cfg.BatchSize, cfg.Optimizer.LearningRate = testutil.SmallEncoder{Width: 16}, 30, 32, 1e-3
	res, err := Pretrain(breastTrain(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(res.Loss[:5]), mean(res.Loss[25:])
	t.Logf("BYOL loss: first 5 steps %.4f, last 5 steps %.4f", first, last)
	if !(last < first-0.1) {
		t.Errorf("loss did not fall: first 5 steps %.4f, last 5 %.4f", first, last)
	}
}

// The target network follows BYOL's rule ξ ← τξ + (1−τ)θ step by step, with τ on the cosine
// schedule from BaseMomentum, and starts from the online weights.
func TestBYOLTargetIsEMA(t *testing.T) {
	frozen := NewBYOL()
	frozen.BaseMomentum = 1
	m := NewBYOL()
	m.BaseMomentum = 0.9 // far from 1 so that the test sees the target move
	emaCheckSteps(t, "target", frozen, m, func(j int) float64 { return emaCosine(0.9, 1, j-1, j) }, 3)
}
