package models

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// MILScope is the scope of the attention pooling's variables in AttentionMIL.
const MILScope = "mil"

// MILAttentionDim is the width L of the gated attention network; Ilse, Tomczak &
// Welling (2018) use L = 128.
const MILAttentionDim = 128

// AttentionMIL classifies 3D scans with a 2D encoder: it encodes every slice of bags
// [B, S, H, W, C] (B bags of S slices) with enc, under scope.In(EncoderScope) so
// that an encoder pretrained on 2D images loads by name, and pools each bag's S
// slice features by gated attention (AttentionPool, under scope.In(MILScope), width
// MILAttentionDim). It returns the bag features [B, F] and the attention weights
// [B, S], which sum to 1 over each bag's slices and show which slices decided.
//
// The encoder sees the B·S slices as one batch, so its batch norm (in training)
// pools statistics over every slice of the batch.
func AttentionMIL(scope *model.Scope, enc Encoder, bags *Node) (feats, attn *Node) {
	return AttentionMILMasked(scope, enc, bags, nil)
}

// AttentionMILMasked is AttentionMIL for bags padded to a common length: mask
// [B, S] is 1 for real slices and 0 for padding, which gets zero attention. A nil
// mask means every slice is real.
func AttentionMILMasked(scope *model.Scope, enc Encoder, bags, mask *Node) (feats, attn *Node) {
	if bags.Rank() != 5 {
		exceptions.Panicf("models.AttentionMIL: bags must be [B, S, H, W, C], got %s", bags.Shape())
	}
	d := bags.Shape().Dimensions
	slices := Reshape(bags, d[0]*d[1], d[2], d[3], d[4])
	h := enc.Encode(scope.In(EncoderScope), slices)
	h = Reshape(h, d[0], d[1], h.Shape().Dimensions[1])
	return AttentionPool(scope.In(MILScope), h, mask, MILAttentionDim)
}

// AttentionPool is the gated attention pooling of Ilse, Tomczak & Welling, "Attention-
// based Deep Multiple Instance Learning" (ICML 2018), eq. 9, on instance features
// h [B, S, F]:
//
//	a_s = exp(wᵀ(tanh(V h_s + b_V) ⊙ σ(U h_s + b_U))) / Σ_t exp(wᵀ(tanh(V h_t + b_V) ⊙ σ(U h_t + b_U)))
//	z   = Σ_s a_s h_s
//
// with V, U [F, hidden] and w [hidden] learned (variables scope/V/dense/{weights,biases},
// scope/U/dense/{weights,biases}, scope/w/dense/weights; w needs no bias, which the
// softmax would cancel). The sigmoid gate lets the attention use more than tanh's
// near-linear range. Slices with mask 0 (mask [B, S], nil for none) get a = 0;
// every bag needs at least one slice with mask 1.
// It returns z [B, F] and a [B, S].
func AttentionPool(scope *model.Scope, h, mask *Node, hidden int) (pooled, attn *Node) {
	if h.Rank() != 3 {
		exceptions.Panicf("models.AttentionPool: features must be [B, S, F], got %s", h.Shape())
	}
	if hidden < 1 {
		exceptions.Panicf("models.AttentionPool: hidden width %d, want >= 1", hidden)
	}
	d := h.Shape().Dimensions
	v := Tanh(layers.DenseWithBias(scope.In("V"), h, hidden))
	u := Sigmoid(layers.DenseWithBias(scope.In("U"), h, hidden))
	logits := Reshape(layers.Dense(scope.In("w"), Mul(v, u), false, 1), d[0], d[1])
	if mask != nil {
		if mask.DType() != logits.DType() {
			mask = ConvertDType(mask, logits.DType())
		}
		if r := mask.Shape(); r.Rank() != 2 || r.Dimensions[0] != d[0] || r.Dimensions[1] != d[1] {
			exceptions.Panicf("models.AttentionPool: mask must be [%d, %d], got %s", d[0], d[1], mask.Shape())
		}
		// -1e9 on padding: exp underflows to exactly 0 in float32 and float64.
		logits = Add(logits, MulScalar(AddScalar(mask, -1), 1e9))
	}
	attn = Softmax(logits, -1)
	pooled = ReduceSum(Mul(ExpandAxes(attn, -1), h), 1)
	return pooled, attn
}
