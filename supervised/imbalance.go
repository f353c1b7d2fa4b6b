package supervised

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// Weighting is how the loss weighs the classes.
type Weighting string

// The weightings.
const (
	// Unweighted: every example counts the same.
	Unweighted Weighting = "none"
	// InverseFrequency weighs class c by n/(K·n_c) (scikit-learn's "balanced"), so every
	// class contributes as much as if the classes were balanced.
	InverseFrequency Weighting = "inverse"
	// EffectiveNumber weighs class c by (1−β)/(1−β^{n_c}), normalised to sum to K (Cui et
	// al. 2019, "Class-balanced loss based on effective number of samples").
	EffectiveNumber Weighting = "effective"
)

// Remedy is what training does against class imbalance. The zero Remedy is plain
// cross-entropy on the images as they come.
type Remedy struct {
	// Weighting of the loss by class, from the training split's class counts.
	Weighting Weighting
	// Beta is EffectiveNumber's β in (0, 1) (Cui et al. use 0.999 to 0.9999).
	Beta float64
	// FocalGamma > 0 makes the loss the focal loss −w_y·(1−p_y)^γ·log p_y (Lin et al. 2017),
	// the class weights playing the part of α; 0 is cross-entropy.
	FocalGamma float64
	// Oversample draws each epoch class-balanced (data.BalancedOrder): every class equally
	// often, minority images repeated, the epoch's length unchanged.
	Oversample bool
}

// The named remedies a study compares (RemedyByName).
const (
	RemedyNone       = "none"
	RemedyWeighted   = "weighted"
	RemedyEffective  = "effective"
	RemedyFocal      = "focal"
	RemedyOversample = "oversample"
)

// RemedyNames lists the named remedies.
func RemedyNames() []string {
	return []string{RemedyNone, RemedyWeighted, RemedyEffective, RemedyFocal, RemedyOversample}
}

// RemedyByName returns a named remedy: "none"; "weighted", inverse-frequency class weights;
// "effective", effective-number weights with β 0.999; "focal", the focal loss with γ 2 and
// inverse-frequency weights as α (the "α-balanced" form of Lin et al.); "oversample",
// class-balanced resampling.
func RemedyByName(name string) (Remedy, error) {
	switch name {
	case RemedyNone:
		return Remedy{Weighting: Unweighted}, nil
	case RemedyWeighted:
		return Remedy{Weighting: InverseFrequency}, nil
	case RemedyEffective:
		return Remedy{Weighting: EffectiveNumber, Beta: 0.999}, nil
	case RemedyFocal:
		return Remedy{Weighting: InverseFrequency, FocalGamma: 2}, nil
	case RemedyOversample:
		return Remedy{Weighting: Unweighted, Oversample: true}, nil
	}
	return Remedy{}, fmt.Errorf("supervised: unknown remedy %q (known: %v)", name, RemedyNames())
}

// Validate reports a remedy that cannot be used.
func (r Remedy) Validate() error {
	switch r.Weighting {
	case "", Unweighted, InverseFrequency:
	case EffectiveNumber:
		if !(r.Beta > 0 && r.Beta < 1) {
			return fmt.Errorf("supervised: effective-number β %v, want (0, 1)", r.Beta)
		}
	default:
		return fmt.Errorf("supervised: unknown class weighting %q", r.Weighting)
	}
	if !(r.FocalGamma >= 0) || math.IsInf(r.FocalGamma, 0) {
		return fmt.Errorf("supervised: focal γ %v, want >= 0", r.FocalGamma)
	}
	return nil
}

// ClassWeights returns the weight of each class under w for a training split with the
// given class counts. A class without examples gets weight 0 (it never occurs in a batch).
func ClassWeights(w Weighting, beta float64, counts []int) []float64 {
	k := len(counts)
	out := make([]float64, k)
	n, present := 0, 0
	for _, c := range counts {
		n += c
		if c > 0 {
			present++
		}
	}
	for c, nc := range counts {
		switch {
		case nc == 0:
			out[c] = 0
		case w == InverseFrequency:
			out[c] = float64(n) / (float64(present) * float64(nc))
		case w == EffectiveNumber:
			out[c] = (1 - beta) / (1 - math.Pow(beta, float64(nc)))
		default:
			out[c] = 1
		}
	}
	if w == EffectiveNumber {
		var sum float64
		for _, v := range out {
			sum += v
		}
		for c := range out {
			out[c] *= float64(present) / sum
		}
	}
	return out
}

// lossNode is the remedy's loss on logits [B, K] and integer labels [B]:
//
//	L = Σ_i w_{y_i}·(1 − p_i)^γ·ℓ_i / Σ_i w_{y_i},   ℓ_i = −log p_i,  p_i = softmax(logits_i)_{y_i}
//
// the weighted mean of the per-example (focal) cross-entropy, as PyTorch's weighted
// cross-entropy reduces; unit weights and γ = 0 give the plain mean cross-entropy.
func lossNode(logits, labels *graph.Node, weights []float64, gamma float64) *graph.Node {
	g := logits.Graph()
	dtype := logits.DType()
	k := logits.Shape().Dimensions[1]
	labels = graph.ConvertDType(graph.Reshape(labels, labels.Shape().Dimensions[0]), dtypes.Int32)
	onehot := graph.OneHot(labels, k, dtype)
	logp := graph.LogSoftmax(logits, -1)
	ce := graph.Neg(graph.ReduceSum(graph.Mul(onehot, logp), -1)) // [B]
	per := ce
	if gamma > 0 {
		pt := graph.Exp(graph.Neg(ce))
		per = graph.Mul(graph.Pow(graph.OneMinus(pt), graph.Scalar(g, dtype, gamma)), ce)
	}
	if weights == nil {
		return graph.ReduceAllMean(per)
	}
	w32 := make([]float32, len(weights))
	for i, v := range weights {
		w32[i] = float32(v)
	}
	wy := graph.ReduceSum(graph.Mul(onehot, graph.ConvertDType(graph.Const(g, [][]float32{w32}), dtype)), -1) // [B]
	return graph.Div(graph.ReduceAllSum(graph.Mul(wy, per)), graph.ReduceAllSum(wy))
}
