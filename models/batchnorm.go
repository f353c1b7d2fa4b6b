package models

import (
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Batch-norm defaults, PyTorch's (GoMLX's own norm.BatchNorm uses Keras's 0.99 / 1e-3).
const (
	DefaultBatchNormMomentum = 0.1
	DefaultBatchNormEpsilon  = 1e-5
)

// BatchNormScope is the sub-scope holding one batch norm's variables: "scale" (γ), "offset"
// (β), and the running "mean" and "variance" used in inference.
const BatchNormScope = "batch_norm"

// BatchNormBuilder configures a batch normalisation; create it with BatchNorm, finish with Done.
type BatchNormBuilder struct {
	scope             *model.Scope
	xs                []*Node // the batch, in one or more parts (see batchNormParts)
	momentum, epsilon float64
}

// BatchNorm normalises x per feature (its last axis) over all other axes (batch and, for
// images [B, H, W, C], the pixels):
//
//	training:  y = γ·(x − μ_B)/√(σ²_B + ε) + β, with μ_B, σ²_B the batch mean and (biased) variance;
//	           running_mean ← (1−m)·running_mean + m·μ_B,
//	           running_var  ← (1−m)·running_var  + m·σ²_B·n/(n−1)   (n values per feature)
//	inference: the same with running_mean and running_var in place of μ_B and σ²_B.
//
// It reads scope.IsTraining(g). Unlike GoMLX's norm.BatchNorm in its decomposed form, the
// gradient flows through μ_B and σ²_B, as in PyTorch, and it needs no backend batch-norm op,
// so it trains on every backend, the pure-Go one included. The normalisation is computed as
// one multiply-add x·a + b with per-feature a = γ/√(σ²+ε) and b = β − μ·a.
func BatchNorm(scope *model.Scope, x *Node) *BatchNormBuilder {
	return batchNormParts(scope, []*Node{x})
}

// batchNormParts is BatchNorm of a batch given in parts (batchParts): the concatenation of
// xs along their first axis, normalised with the statistics of the whole batch (summed over
// the parts), each part on its own otherwise.
func batchNormParts(scope *model.Scope, xs []*Node) *BatchNormBuilder {
	return &BatchNormBuilder{scope: scope, xs: xs, momentum: DefaultBatchNormMomentum, epsilon: DefaultBatchNormEpsilon}
}

// Momentum sets m, the weight of the current batch in the running averages (PyTorch's
// convention; default DefaultBatchNormMomentum).
func (bn *BatchNormBuilder) Momentum(m float64) *BatchNormBuilder {
	if m < 0 || m > 1 {
		exceptions.Panicf("models.BatchNorm: momentum must be in [0, 1], got %g", m)
	}
	bn.momentum = m
	return bn
}

// Epsilon sets ε, added to the variance (default DefaultBatchNormEpsilon).
func (bn *BatchNormBuilder) Epsilon(eps float64) *BatchNormBuilder {
	bn.epsilon = eps
	return bn
}

// Done builds the normalisation and returns the normalised x (same shape).
func (bn *BatchNormBuilder) Done() *Node { return bn.parts()[0] }

// parts builds the normalisation and returns the normalised parts of the batch.
func (bn *BatchNormBuilder) parts() []*Node {
	x := bn.xs[0]
	g := x.Graph()
	if x.Rank() < 2 {
		exceptions.Panicf("models.BatchNorm: x must have a batch and a feature axis, got %s", x.Shape())
	}
	dims := x.Shape().Dimensions
	features := dims[len(dims)-1]
	flats := make([]*Node, len(bn.xs))
	n := 0
	for i, xi := range bn.xs {
		// Reducing the leading axis of a 2D array is the backend's fast path.
		flats[i] = Reshape(xi, xi.Shape().Size()/features, features)
		n += flats[i].Shape().Dimensions[0]
	}
	scope := bn.scope.ResetVisited().In(BatchNormScope)
	varShape := shapes.Make(x.DType(), features)
	scale := scope.WithInitializer(initializer.One).VariableWithShape("scale", varShape).SetTrainable(true)
	offset := scope.WithInitializer(initializer.Zero).VariableWithShape("offset", varShape).SetTrainable(true)
	runMean := scope.WithInitializer(initializer.Zero).VariableWithShape("mean", varShape).SetTrainable(false)
	runVar := scope.WithInitializer(initializer.One).VariableWithShape("variance", varShape).SetTrainable(false)

	var mean, variance *Node
	if scope.IsTraining(g) {
		if n < 2 {
			exceptions.Panicf("models.BatchNorm: training needs more than one value per feature, x is %s", x.Shape())
		}
		if len(flats) == 1 {
			mean = ReduceMean(flats[0], 0)
			variance = Max(Sub(ReduceMean(Square(flats[0]), 0), Square(mean)), ScalarZero(g, x.DType()))
		} else {
			var sum, sumSquares *Node
			for i, f := range flats {
				s, ss := ReduceSum(f, 0), ReduceSum(Square(f), 0)
				if i == 0 {
					sum, sumSquares = s, ss
				} else {
					sum, sumSquares = Add(sum, s), Add(sumSquares, ss)
				}
			}
			mean = DivScalar(sum, float64(n))
			variance = Max(Sub(DivScalar(sumSquares, float64(n)), Square(mean)), ScalarZero(g, x.DType()))
		}
		m := bn.momentum
		unbiased := MulScalar(StopGradient(variance), float64(n)/float64(n-1))
		runMean.SetNodeValue(Add(MulScalar(runMean.NodeValue(g), 1-m), MulScalar(StopGradient(mean), m)))
		runVar.SetNodeValue(Add(MulScalar(runVar.NodeValue(g), 1-m), MulScalar(unbiased, m)))
	} else {
		mean, variance = runMean.NodeValue(g), runVar.NodeValue(g)
	}
	a := Div(scale.NodeValue(g), Sqrt(AddScalar(variance, bn.epsilon)))
	b := Sub(offset.NodeValue(g), Mul(mean, a))
	ys := make([]*Node, len(flats))
	for i, f := range flats {
		ys[i] = Reshape(Add(Mul(f, ExpandLeftToRank(a, 2)), ExpandLeftToRank(b, 2)), bn.xs[i].Shape().Dimensions...)
	}
	return ys
}
