package models

import (
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// The transformer pieces below run on the go backend's fused kernels where GoMLX has
// them (dense with its fused gradient, GELU, layer norm and softmax forward), and attention
// has a hand-written backward pass (attentionHeadMajor) that avoids the backend's slow
// generic transposes.

// LayerNorm normalises x over its last axis and applies the learned scale "gain" (ones)
// and shift "offset" (zeros) in scope, like PyTorch's nn.LayerNorm. The normalisation is
// GoMLX's nn.LayerNorm: the backend's fused kernel forward, the gradient through its
// decomposed form. (A hand-written gradient for it, and for the softmax, measured no
// faster on the ViT-Tiny SimCLR step: they are a few percent of it.)
func LayerNorm(scope *model.Scope, x *Node, epsilon float64) *Node {
	d := x.Shape().Dimensions[x.Rank()-1]
	g := x.Graph()
	gain := scope.WithInitializer(initializer.One).VariableWithShape("gain", shapeOf(x, d)).NodeValue(g)
	offset := scope.WithInitializer(initializer.Zero).VariableWithShape("offset", shapeOf(x, d)).NodeValue(g)
	y := nn.LayerNorm(x, []int{x.Rank() - 1}, epsilon, nil, nil, nil)
	return Add(Mul(y, ExpandLeftToRank(gain, y.Rank())), ExpandLeftToRank(offset, y.Rank()))
}

// dense is y = act(x·W + b) over the last axis of x (any rank), with "weights" and
// "biases" [out] (zeros) in scope, Xavier-uniform as in MAE and timm. The go backend runs it
// as one fused op with a fused gradient, whose weight gradient transposes either x
// [M, in] or the output gradient [M, out]; to transpose the smaller one, the weights are
// stored [in, out] when out > in and [out, in] (PyTorch's layout) otherwise.
func dense(scope *model.Scope, x *Node, out int, act activation.Type) *Node {
	g := x.Graph()
	in := x.Shape().Dimensions[x.Rank()-1]
	s := scope.WithInitializer(initializer.XavierUniformFn(scope))
	layout, wShape := compute.DenseLayoutInputOutputs, shapeOf(x, in, out)
	if out <= in {
		layout, wShape = compute.DenseLayoutOutputsInput, shapeOf(x, out, in)
	}
	w := s.VariableWithShape("weights", wShape).NodeValue(g)
	b := s.VariableWithShape("biases", shapeOf(x, out)).NodeValue(g)
	// The bias is added outside the fused op: its fused gradient sums the output gradient
	// column by column (strided), several times slower than the backend's reduction.
	y := Add(nn.Dense(x, w, nil, layout), ExpandLeftToRank(b, x.Rank()))
	return activate(act, y)
}

// SelfAttention is multi-head self-attention on tokens x [B, T, D] with `heads` heads of
// width D/heads: a joint Q/K/V projection "qkv" (weights [D, 3D], like PyTorch's
// in_proj), softmax(Q·Kᵀ/√d)·V per head, and the output projection "out" [D, D]. In
// training (scope.IsTraining) the attention has a hand-written backward pass
// (attentionHeadMajor); in inference it is the backend's fused kernel (AttentionFused).
func SelfAttention(scope *model.Scope, x *Node, heads int) *Node {
	out, _ := selfAttention(scope, x, heads, false)
	return out
}

// SelfAttentionProbs is SelfAttention (the same variables and values) that also returns the
// attention probabilities softmax(Q·Kᵀ/√d) [B, heads, T, T] (query rows, key columns),
// for explanations such as attention rollout. It runs the plain, unfused ops.
func SelfAttentionProbs(scope *model.Scope, x *Node, heads int) (out, probs *Node) {
	return selfAttention(scope, x, heads, true)
}

// selfAttention is SelfAttention; withProbs computes it with the plain ops and returns the
// probabilities too (nil otherwise).
func selfAttention(scope *model.Scope, x *Node, heads int, withProbs bool) (out, probs *Node) {
	dims := x.Shape().Dimensions
	if x.Rank() != 3 || heads <= 0 || dims[2]%heads != 0 {
		exceptions.Panicf("models.SelfAttention: want tokens [B, T, D] with D divisible by %d heads, got %s", heads, x.Shape())
	}
	b, t, d := dims[0], dims[1], dims[2]
	dh := d / heads
	qkv := dense(scope.In("qkv"), x, 3*d, activation.TypeNone)
	var o *Node
	switch {
	case withProbs:
		qkv = Reshape(qkv, b, t, 3, heads, dh)
		pick := func(i int) *Node { return Reshape(SliceAxis(qkv, 2, AxisElem(i)), b, t, heads, dh) }
		o, probs = attentionWithProbs(pick(0), pick(1), pick(2))
	case scope.IsTraining(x.Graph()):
		// One transpose to head-major [B, 3·heads, T, dh] (the backend's fast 0213 kernel):
		// q, k and v are then contiguous slices, and every attention product runs without
		// transposing its inputs.
		qkv = TransposeAllAxes(Reshape(qkv, b, t, 3*heads, dh), 0, 2, 1, 3)
		pick := func(i int) *Node { return SliceAxis(qkv, 1, AxisRange(i*heads, (i+1)*heads)) }
		o = TransposeAllAxes(attentionHeadMajor(pick(0), pick(1), pick(2)), 0, 2, 1, 3)
	default:
		// Inference: the backend's fused kernel reads q, k, v [B, T, heads, dh] in place.
		qkv = Reshape(qkv, b, t, 3, heads, dh)
		pick := func(i int) *Node { return Reshape(SliceAxis(qkv, 2, AxisElem(i)), b, t, heads, dh) }
		o = AttentionFused(pick(0), pick(1), pick(2))
	}
	return dense(scope.In("out"), Reshape(o, b, t, d), d, activation.TypeNone), probs
}

// attentionHeadMajor is softmax(Q·Kᵀ/√d)·V on q, k, v [B, heads, T, d] (the same T: self-
// attention), with a hand-written backward pass. Autodiff of the two products would
// contract the scores over their query axis, which the go backend does by a slow generic
// transpose; here the two transposes the backward needs, of P and of dS, go through the
// backend's fast [0 2 1 3] kernel:
//
//	S = Q·Kᵀ/√d, P = softmax(S), O = P·V
//	dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P⊙(dP − Σ_k dP⊙P), dQ = dS·K/√d, dK = dSᵀ·Q/√d
func attentionHeadMajor(q, k, v *Node) *Node {
	d := q.Shape().Dimensions[3]
	scale := 1 / math.Sqrt(float64(d))
	sq, sk, sv := StopGradient(q), StopGradient(k), StopGradient(v)
	p := StopGradient(Softmax(Einsum("bhqd,bhkd->bhqk", MulScalar(sq, scale), sk), -1))
	o := Einsum("bhqk,bhkd->bhqd", p, sv)

	// The backward pass is built once, when autodiff first asks for one of the gradients.
	var dq, dk, dv *Node
	backward := func(dO *Node) {
		if dq != nil {
			return
		}
		dv = Einsum("bhkq,bhqd->bhkd", transposeLastTwo(p), dO)
		dp := Einsum("bhqd,bhkd->bhqk", dO, sv)
		ds := Mul(p, Sub(dp, ReduceAndKeep(Mul(dp, p), ReduceSum, -1)))
		ds = MulScalar(ds, scale)
		dq = Einsum("bhqk,bhkd->bhqd", ds, sk)
		dk = Einsum("bhkq,bhqd->bhkd", transposeLastTwo(ds), sq)
	}
	grad := func(x *Node, pick func() *Node) *Node {
		return Sub(IdentityWithCustomGradient(x, func(_, dO *Node) *Node { backward(dO); return pick() }), StopGradient(x))
	}
	out := Add(StopGradient(o), grad(q, func() *Node { return dq }))
	out = Add(out, grad(k, func() *Node { return dk }))
	return Add(out, grad(v, func() *Node { return dv }))
}

// transposeLastTwo swaps the last two axes of x [B, H, M, N] as the [0 2 1 3] permutation
// of [B·H, M, N, 1], which the go backend runs with a fast parallel kernel.
func transposeLastTwo(x *Node) *Node {
	dims := x.Shape().Dimensions
	y := TransposeAllAxes(Reshape(x, dims[0]*dims[1], dims[2], dims[3], 1), 0, 2, 1, 3)
	return Reshape(y, dims[0], dims[1], dims[3], dims[2])
}

// Attention is scaled dot-product attention softmax(Q·Kᵀ/√d)·V on q, k, v laid out
// [B, T, heads, d]; it returns [B, T, heads, d]. Inference graphs (scope not training or
// no gradient taken) may prefer AttentionFused; both compute the same values.
func Attention(q, k, v *Node) *Node {
	o, _ := attentionWithProbs(q, k, v)
	return o
}

// attentionWithProbs is Attention that also returns the probabilities [B, heads, Tq, Tk].
func attentionWithProbs(q, k, v *Node) (o, probs *Node) {
	d := q.Shape().Dimensions[3]
	q = MulScalar(q, 1/math.Sqrt(float64(d)))
	probs = Softmax(Einsum("bqhd,bkhd->bhqk", q, k), -1)
	return Einsum("bhqk,bkhd->bqhd", probs, v), probs
}

// AttentionFused computes Attention with the backend's fused scaled-dot-product kernel when
// it has one (falling back to Attention otherwise). Its gradient goes through the plain ops
// (the go backend has no fused backward), so use it where no gradient is taken.
func AttentionFused(q, k, v *Node) *Node {
	out, _ := InternalFusedOpCaller(
		func() *Node {
			o, _ := BackendFusedScaledDotProductAttention(q, k, v, compute.AttentionAxesLayoutBSHD, nil)
			return o
		},
		func() *Node { return Attention(q, k, v) },
		true,
	)
	return out
}

// shapeOf is the shape with x's dtype and the given dimensions.
func shapeOf(x *Node, dims ...int) shapes.Shape { return shapes.Make(x.DType(), dims...) }
