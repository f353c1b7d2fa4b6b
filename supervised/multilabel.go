package supervised

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/core/graph"

	"github.com/medssl/medssl/eval/metrics"
)

// Multi-label training (a chest X-ray with effusion and cardiomegaly at once): the head
// gives one logit per label, each label is its own binary problem, and the loss is their
// binary cross-entropy, averaged.

// PositiveWeights returns each label's positive weight for a training set of n examples
// with the given positives per label:
//
//	w_l = (n − n_l) / n_l
//
// its negatives over its positives, as PyTorch's BCEWithLogitsLoss pos_weight is usually
// set, so that a label's positives weigh as much in the loss as its negatives. A label
// with no positive or no negative example gets 1: there is nothing to balance.
func PositiveWeights(positives []int, n int) []float64 {
	out := make([]float64, len(positives))
	for l, p := range positives {
		out[l] = 1
		if p > 0 && p < n {
			out[l] = float64(n-p) / float64(p)
		}
	}
	return out
}

// MultiLabelLoss is the binary cross-entropy of logits [B, L] against 0/1 labels [B, L],
// averaged over the B·L (example, label) pairs:
//
//	L = (1/(B·L)) Σ_{i,l} [ w_l·y_il·(1 − p_il)^γ·(−log p_il) + (1 − y_il)·p_il^γ·(−log(1 − p_il)) ]
//
// with p = sigmoid(logit). posWeights w (nil: all 1, see PositiveWeights) weigh each
// label's positives; γ > 0 makes it the focal loss of Lin et al. 2017 on every label, the
// positive weights playing the part of α, as in the single-label remedy. The logarithms
// and the focal factors are computed from the logits as −log p = softplus(−x),
// −log(1 − p) = softplus(x), (1 − p)^γ = exp(−γ·softplus(x)) and p^γ = exp(−γ·softplus(−x)),
// softplus(x) = max(x, 0) + log(1 + exp(−|x|)), which never overflows and never takes the
// logarithm of 0, whatever the logit.
func MultiLabelLoss(logits, labels *graph.Node, posWeights []float64, gamma float64) *graph.Node {
	g := logits.Graph()
	dtype := logits.DType()
	x := logits
	y := graph.ConvertDType(graph.Reshape(labels, x.Shape().Dimensions...), dtype)
	tail := graph.Log1p(graph.Exp(graph.Neg(graph.Abs(x)))) // log(1 + exp(−|x|))
	zero := graph.ZerosLike(x)
	nlogP := graph.Add(graph.Max(graph.Neg(x), zero), tail) // −log p
	nlogQ := graph.Add(graph.Max(x, zero), tail)            // −log(1 − p)
	pos := graph.Mul(y, nlogP)
	neg := graph.Mul(graph.OneMinus(y), nlogQ)
	if gamma > 0 {
		// (1 − p)^γ = exp(−γ·softplus(x)) and p^γ = exp(−γ·softplus(−x)): from the logits
		// too, so the factors stay exact where a rounded sigmoid saturates.
		gm := graph.Scalar(g, dtype, -gamma)
		pos = graph.Mul(graph.Exp(graph.Mul(gm, nlogQ)), pos)
		neg = graph.Mul(graph.Exp(graph.Mul(gm, nlogP)), neg)
	}
	if posWeights != nil {
		w32 := make([]float32, len(posWeights))
		for i, v := range posWeights {
			w32[i] = float32(v)
		}
		pos = graph.Mul(pos, graph.ConvertDType(graph.Const(g, [][]float32{w32}), dtype))
	}
	return graph.ReduceAllMean(graph.Add(pos, neg))
}

// check reports a remedy that has no multi-label form. Class-weighted ("weighted") and
// focal remedies weigh each label's positives (PositiveWeights); effective-number weights
// (Cui et al. 2019) are defined for classes that exclude each other, and class-balanced
// resampling needs one class per image to balance: both are errors for multi-label
// targets rather than a silent reinterpretation.
func (r Remedy) check(t target) error {
	if !t.multiLabel {
		return nil
	}
	if r.Weighting == EffectiveNumber {
		return fmt.Errorf("supervised: the effective-number remedy has no multi-label form (labels are not exclusive classes); use %q or %q", RemedyWeighted, RemedyFocal)
	}
	if r.Oversample {
		return fmt.Errorf("supervised: class-balanced resampling needs one class per image and the split is multi-label; use %q or %q", RemedyWeighted, RemedyFocal)
	}
	return nil
}

// CheckMultiLabel reports an error when the remedy has no multi-label form (see check), so
// that a study can refuse it before anything trains.
func (r Remedy) CheckMultiLabel() error { return r.check(target{multiLabel: true}) }

// checkScorable reports a validation split on which no label has both classes: its macro
// AUC is undefined, so no epoch could be selected.
func checkScorable(labels []int32, numLabels int, name string) error {
	pos, neg := make([]bool, numLabels), make([]bool, numLabels)
	for i, v := range labels {
		if v == 0 {
			neg[i%numLabels] = true
		} else {
			pos[i%numLabels] = true
		}
	}
	for l := range pos {
		if pos[l] && neg[l] {
			return nil
		}
	}
	return fmt.Errorf("supervised: validation split %q has no label with both positive and negative images: its macro AUC is undefined and no epoch can be selected", name)
}

// validationAUC is the model-selection score of validation probabilities: MedMNIST's AUC
// for single-label targets, the macro AUC over the scored labels for multi-label ones.
func validationAUC(t target, labels []int32, probs [][]float32) (float64, error) {
	scores := metrics.FromFloat32(probs)
	if !t.multiLabel {
		return metrics.AUC(toInts(labels), scores)
	}
	rows := make([][]int, len(labels)/t.numClasses)
	for i := range rows {
		rows[i] = toInts(labels[i*t.numClasses : (i+1)*t.numClasses])
	}
	auc, _, err := metrics.MultiLabelAUC(rows, scores)
	if err == nil && math.IsNaN(auc) {
		err = fmt.Errorf("no label has both classes")
	}
	return auc, err
}

// multiLabelLabels converts flat 0/1 labels to the float32 the loss takes.
func multiLabelLabels(labels []int32) []float32 {
	out := make([]float32, len(labels))
	for i, v := range labels {
		out[i] = float32(v)
	}
	return out
}
