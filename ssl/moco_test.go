package ssl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// emaUnit returns v/‖v‖.
func emaUnit(v []float64) []float64 {
	n := 0.0
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / n
	}
	return out
}

func emaDot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// emaCrossEntropy is −log(exp(logits[target]) / Σ exp(logits)).
func emaCrossEntropy(logits []float64, target int) float64 {
	den := 0.0
	for _, l := range logits {
		den += math.Exp(l)
	}
	return -logits[target] + math.Log(den)
}

func TestMoCoLossMatchesNaive(t *testing.T) {
	backend := medssl.MustBackend()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		b, d, k int
		tau     float64
	}{{1, 2, 1, 0.2}, {3, 4, 5, 0.07}, {4, 8, 16, 1}} {
		q, qt := randMatrix(rng, tc.b, tc.d)
		k, kt := randMatrix(rng, tc.b, tc.d)
		queue, _ := randMatrix(rng, tc.k, tc.d)
		flat := make([]float32, 0, tc.k*tc.d)
		for i := range queue {
			for _, x := range emaUnit(queue[i]) {
				flat = append(flat, float32(x))
			}
		}
		for i := range queue { // the float32 unit rows the graph sees
			for j := range queue[i] {
				queue[i][j] = float64(flat[i*tc.d+j])
			}
		}
		want := 0.0
		for i := range q {
			u, v := emaUnit(q[i]), emaUnit(k[i])
			logits := []float64{emaDot(u, v) / tc.tau}
			for _, n := range queue {
				logits = append(logits, emaDot(u, n)/tc.tau)
			}
			want += emaCrossEntropy(logits, 0)
		}
		want /= float64(tc.b)
		exec := graph.MustNewExec(backend, func(q, k, queue *graph.Node) *graph.Node { return MoCoLoss(q, k, queue, tc.tau) })
		got := float64(exec.MustExec1(qt, kt, tensors.FromFlatDataAndDimensions(flat, tc.k, tc.d)).Value().(float32))
		if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("B=%d D=%d K=%d τ=%v: MoCoLoss=%v, naive=%v", tc.b, tc.d, tc.k, tc.tau, got, want)
		}
	}
}

func TestMoCoV3LossMatchesNaive(t *testing.T) {
	backend := medssl.MustBackend()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		b, d int
		tau  float64
	}{{1, 3, 0.2}, {4, 4, 0.2}, {6, 8, 1}} {
		q, qt := randMatrix(rng, tc.b, tc.d)
		k, kt := randMatrix(rng, tc.b, tc.d)
		want := 0.0
		for i := range q {
			logits := make([]float64, tc.b)
			for j := range k {
				logits[j] = emaDot(emaUnit(q[i]), emaUnit(k[j])) / tc.tau
			}
			want += emaCrossEntropy(logits, i)
		}
		want = 2 * tc.tau * want / float64(tc.b)
		exec := graph.MustNewExec(backend, func(q, k *graph.Node) *graph.Node { return MoCoV3Loss(q, k, tc.tau) })
		got := float64(exec.MustExec1(qt, kt).Value().(float32))
		if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("B=%d D=%d τ=%v: MoCoV3Loss=%v, naive=%v", tc.b, tc.d, tc.tau, got, want)
		}
	}
}

// The enqueue writes the batch at the pointer, wrapping around, like a ring buffer written
// with plain loops.
func TestMoCoEnqueueMatchesNaive(t *testing.T) {
	backend := medssl.MustBackend()
	exec := graph.MustNewExec(backend, func(queue, keys, ptr *graph.Node) []*graph.Node {
		q, p := mocoEnqueue(queue, keys, ptr)
		return []*graph.Node{q, p}
	})
	for _, tc := range []struct{ k, b, ptr int }{{4, 4, 0}, {5, 2, 4}, {6, 3, 3}, {7, 3, 5}, {3, 1, 2}} {
		const d = 2
		queue := make([]float32, tc.k*d)
		for i := range queue {
			queue[i] = -float32(i + 1)
		}
		keys := make([]float32, tc.b*d)
		for i := range keys {
			keys[i] = float32(100 + i)
		}
		want := append([]float32(nil), queue...)
		for i := 0; i < tc.b; i++ {
			row := (tc.ptr + i) % tc.k
			copy(want[row*d:(row+1)*d], keys[i*d:(i+1)*d])
		}
		out := exec.MustExec(tensors.FromFlatDataAndDimensions(queue, tc.k, d), tensors.FromFlatDataAndDimensions(keys, tc.b, d), int32(tc.ptr))
		got := tensors.MustCopyFlatData[float32](out[0])
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("K=%d B=%d ptr=%d: queue %v, want %v", tc.k, tc.b, tc.ptr, got, want)
			}
		}
		if p := out[1].Value().(int32); int(p) != (tc.ptr+tc.b)%tc.k {
			t.Errorf("K=%d B=%d ptr=%d: new pointer %d, want %d", tc.k, tc.b, tc.ptr, p, (tc.ptr+tc.b)%tc.k)
		}
	}
}

// Both MoCo losses fall on real BreastMNIST within 30 steps. The test uses the milder
// SupervisedDefault augmentation and a fast key encoder (m = 0.9): with MedicalDefault the
// 16-wide test encoder barely learns instance discrimination in 60 steps (measured: MoCo v2
// 3.95 → 3.89 with K = 64, MoCo v3 2.66 → 2.57). MoCo v2's first steps are skipped: its
// queue starts as random unit vectors, easy negatives, and fills with real keys after
// K/B = 2 steps, which first raises the loss.
func TestMoCoLossFallsOnBreastMNIST(t *testing.T) {
	v2 := NewMoCoV2()
	v2.QueueSize, v2.Momentum = 64, 0.9
	v3 := NewMoCoV3()
	v3.BaseMomentum = 0.9
	for _, m := range []Method{v2, v3} {
		t.Run(m.Name(), func(t *testing.T) {
			cfg := emaTestConfig(m)
			cfg.Encoder, cfg.Steps, cfg.BatchSize, cfg.Optimizer.LearningRate = testutil.SmallEncoder{Width: 16}, 30, 32, 3e-3
			cfg.Augment = augment.SupervisedDefault()
			res, err := Pretrain(breastTrain(t), cfg)
			if err != nil {
				t.Fatal(err)
			}
			first, last := mean(res.Loss[5:10]), mean(res.Loss[25:])
			t.Logf("%s loss: steps 6-10 %.4f, last 5 steps %.4f", m.Name(), first, last)
			if !(last < first-0.2) {
				t.Errorf("loss did not fall: steps 6-10 %.4f, last 5 %.4f", first, last)
			}
		})
	}
}

func TestMoCoV2TargetIsEMA(t *testing.T) {
	frozen, m := NewMoCoV2(), NewMoCoV2()
	frozen.Momentum, m.Momentum = 1, 0.9
	frozen.QueueSize, m.QueueSize = 32, 32
	emaCheckSteps(t, "target", frozen, m, func(int) float64 { return 0.9 }, 3)
}

func TestMoCoV3TargetIsEMA(t *testing.T) {
	frozen, m := NewMoCoV3(), NewMoCoV3()
	frozen.BaseMomentum = 1
	m.BaseMomentum = 0.9
	emaCheckSteps(t, "target", frozen, m, func(j int) float64 { return emaCosine(0.9, 1, j-1, j) }, 3)
}

// After three steps with a queue of two batches, the queue holds the keys of steps 3 (rows
// 0..B−1) and 2 (rows B..2B−1): the momentum encoder's normalised projections of that
// step's key view, recomputed here from the checkpointed target weights of the step
// before. Views are the raw images (identity augmentation) so that they can be recomputed.
func TestMoCoV2QueueHoldsLastKeys(t *testing.T) {
	split := breastTrain(t)
	const b = 16
	m := NewMoCoV2()
	m.QueueSize, m.Momentum = 2*b, 0.9
	identity := augment.Func(func(_ *model.Scope, x *graph.Node) *graph.Node { return x })
	enc := testutil.SmallEncoder{Width: 8}
	dir := t.TempDir()

	// keys recomputes the keys of step j from the store after step j−1.
	keys := func(store *model.Store, j int) []float32 {
		images, err := imageBatch(split, b, 3, j-1)
		if err != nil {
			t.Fatal(err)
		}
		exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			store.SetTraining(x.Graph(), true) // the target runs with batch statistics
			h := enc.Encode(store.Scope("/ssl/moco-v2/target/encoder"), x)
			z := models.MLP(store.Scope("/ssl/moco-v2/target/projection"), h, enc.FeatureDim(), m.ProjectionDim).BatchNorm(false).Done()
			return graph.L2Normalize(z, -1)
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec1(images)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out)
	}

	want := make([][]float32, 4)
	var res *Pretrained
	for j := 1; j <= 3; j++ {
		cfg := emaTestConfig(m)
		cfg.Steps, cfg.CheckpointDir, cfg.Augment, cfg.BatchSize = j, dir, identity, b
		var err error
		if res, err = Pretrain(split, cfg); err != nil {
			t.Fatal(err)
		}
		if j < 3 {
			want[j+1] = keys(res.Store, j+1)
		}
	}
	queue := tensors.MustCopyFlatData[float32](res.Store.GetVariable("/ssl/moco-v2/queue").MustValue())
	if ptr := res.Store.GetVariable("/ssl/moco-v2/queue_ptr").MustValue().Value().(int32); ptr != b {
		t.Errorf("queue pointer %d after 3 steps of %d into %d rows, want %d", ptr, b, 2*b, b)
	}
	d := m.ProjectionDim
	for _, c := range []struct{ step, row0 int }{{3, 0}, {2, b}} {
		got := queue[c.row0*d : (c.row0+b)*d]
		for i := range got {
			if math.Abs(float64(got[i]-want[c.step][i])) > 1e-5 {
				t.Fatalf("queue row %d col %d = %v, key of step %d is %v", c.row0+i/d, i%d, got[i], c.step, want[c.step][i])
			}
		}
	}
}
