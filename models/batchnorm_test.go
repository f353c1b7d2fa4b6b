package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
)

func tensorsFlat(t *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](t) }

// bnInput is [n, c] data with a different mean and scale per feature.
func bnInput(n, c int) ([]float32, *tensors.Tensor) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]float32, n*c)
	for i := range n {
		for j := range c {
			data[i*c+j] = float32(j+1)*3 + float32(j+1)*float32(rng.NormFloat64())
		}
	}
	return data, tensors.FromFlatDataAndDimensions(data, n, c)
}

// naiveStats returns per-feature mean and biased variance of [n, c] data.
func naiveStats(data []float32, n, c int) (mean, variance []float64) {
	mean, variance = make([]float64, c), make([]float64, c)
	for j := range c {
		for i := range n {
			mean[j] += float64(data[i*c+j])
		}
		mean[j] /= float64(n)
		for i := range n {
			d := float64(data[i*c+j]) - mean[j]
			variance[j] += d * d
		}
		variance[j] /= float64(n)
	}
	return
}

// TestBatchNormTrainingAndInference checks training mode against the formula computed
// naively here (batch statistics, running-average update) and that inference mode then
// normalises with the running averages instead of the batch.
func TestBatchNormTrainingAndInference(t *testing.T) {
	const n, c = 40, 3
	data, x := bnInput(n, c)
	store := model.NewStore()
	backend := medssl.MustBackend()
	bn := func(training bool) *model.Exec {
		e, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			scope.SetTraining(x.Graph(), training)
			return BatchNorm(scope.In("bn"), x).Done()
		})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	res, err := bn(true).Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	mean, variance := naiveStats(data, n, c)
	got := tensorsFlat(res[0])
	for i := range n {
		for j := range c {
			want := (float64(data[i*c+j]) - mean[j]) / math.Sqrt(variance[j]+DefaultBatchNormEpsilon)
			if d := math.Abs(float64(got[i*c+j]) - want); d > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("training output [%d,%d] = %v, want %v", i, j, got[i*c+j], want)
			}
		}
	}
	// Running averages after one step from (0, 1): m·mean and (1−m) + m·unbiased variance.
	m := DefaultBatchNormMomentum
	runMean := tensorsFlat(store.GetVariable("/bn/batch_norm/mean").MustValue())
	runVar := tensorsFlat(store.GetVariable("/bn/batch_norm/variance").MustValue())
	for j := range c {
		wantMean := m * mean[j]
		wantVar := (1 - m) + m*variance[j]*n/(n-1)
		if math.Abs(float64(runMean[j])-wantMean) > 1e-4*(1+math.Abs(wantMean)) ||
			math.Abs(float64(runVar[j])-wantVar) > 1e-4*(1+wantVar) {
			t.Fatalf("running stats [%d] = (%v, %v), want (%v, %v)", j, runMean[j], runVar[j], wantMean, wantVar)
		}
	}
	// Inference: normalised by the running averages, which differ from the batch's.
	res, err = bn(false).Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	got = tensorsFlat(res[0])
	for i := range n {
		for j := range c {
			want := (float64(data[i*c+j]) - float64(runMean[j])) / math.Sqrt(float64(runVar[j])+DefaultBatchNormEpsilon)
			if d := math.Abs(float64(got[i*c+j]) - want); d > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("inference output [%d,%d] = %v, want %v", i, j, got[i*c+j], want)
			}
		}
	}
	// And inference does not touch the running averages.
	if after := tensorsFlat(store.GetVariable("/bn/batch_norm/mean").MustValue()); after[0] != runMean[0] {
		t.Fatalf("inference changed the running mean: %v -> %v", runMean[0], after[0])
	}
}

// TestBatchNormGradient checks the training-mode gradient (which flows through the batch
// mean and variance) against central finite differences, in float64.
func TestBatchNormGradient(t *testing.T) {
	const n, c = 6, 2
	rng := rand.New(rand.NewPCG(5, 6))
	xs, rs := make([]float64, n*c), make([]float64, n*c)
	for i := range xs {
		xs[i] = rng.NormFloat64()*2 + 1
		rs[i] = rng.NormFloat64()
	}
	store := model.NewStore()
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x, r *graph.Node) []*graph.Node {
		scope.SetTraining(x.Graph(), true)
		loss := graph.ReduceAllSum(graph.Mul(BatchNorm(scope.In("bn"), x).Done(), r))
		return []*graph.Node{loss, graph.Gradient(loss, x)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	r := tensors.FromFlatDataAndDimensions(rs, n, c)
	lossAt := func(v []float64) (float64, []float64) {
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(v, n, c), r)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.ToScalar[float64](res[0]), tensors.MustCopyFlatData[float64](res[1])
	}
	_, grad := lossAt(xs)
	const h = 1e-6
	for i := range xs {
		p, m := append([]float64(nil), xs...), append([]float64(nil), xs...)
		p[i] += h
		m[i] -= h
		lp, _ := lossAt(p)
		lm, _ := lossAt(m)
		want := (lp - lm) / (2 * h)
		if math.Abs(grad[i]-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("d loss/d x[%d] = %v, finite differences give %v", i, grad[i], want)
		}
	}
}
