package metrics

import (
	"fmt"

	"gonum.org/v1/gonum/stat"
)

// Threshold is the decision threshold MedMNIST applies to the positive-class
// probability of a binary problem: class 1 when the score is > Threshold.
const Threshold = 0.5

// Predict turns an N x C probability matrix into predicted classes with
// MedMNIST's rule (evaluator.getACC):
//
//	binary (K = 2):      pred_i = 1 if scores[i][C-1] > 0.5, else 0
//	multi-class (K > 2): pred_i = argmax_k scores[i][k], the lowest k on ties
//
// For a two-column softmax this equals argmax except at exactly 0.5, which
// both rules send to class 0.
func Predict(scores [][]float64) ([]int, error) {
	labels := make([]int, len(scores)) // all zero: in range, lets checkScores validate shape.
	classes, err := checkScores(labels, scores)
	if err != nil {
		return nil, err
	}
	pred := make([]int, len(scores))
	for i, row := range scores {
		if classes == 2 {
			if row[len(row)-1] > Threshold {
				pred[i] = 1
			}
			continue
		}
		best := 0
		for k, s := range row {
			if s > row[best] {
				best = k
			}
		}
		pred[i] = best
	}
	return pred, nil
}

// Accuracy returns the fraction of correct predictions:
//
//	ACC = (1/N) Σ_i [pred_i = labels_i]
func Accuracy(labels, pred []int) (float64, error) {
	if len(labels) == 0 {
		return 0, fmt.Errorf("%w (0 labels)", ErrEmpty)
	}
	if len(labels) != len(pred) {
		return 0, fmt.Errorf("%w: %d labels but %d predictions", ErrShape, len(labels), len(pred))
	}
	correct := 0
	for i := range labels {
		if labels[i] == pred[i] {
			correct++
		}
	}
	return float64(correct) / float64(len(labels)), nil
}

// ACC returns MedMNIST's accuracy of an N x C probability matrix: Accuracy of
// the classes given by Predict (threshold 0.5 on the positive column for binary
// problems, argmax for multi-class).
func ACC(labels []int, scores [][]float64) (float64, error) {
	if _, err := checkScores(labels, scores); err != nil {
		return 0, err
	}
	pred, err := Predict(scores)
	if err != nil {
		return 0, err
	}
	return Accuracy(labels, pred)
}

// Confusion returns the classes x classes confusion matrix
//
//	M[t][p] = #{ i : labels_i = t, pred_i = p }
//
// rows indexed by the true class and columns by the predicted class.
func Confusion(labels, pred []int, classes int) ([][]int, error) {
	if err := checkPred(labels, pred, classes); err != nil {
		return nil, err
	}
	m := make([][]int, classes)
	for t := range m {
		m[t] = make([]int, classes)
	}
	for i := range labels {
		m[labels[i]][pred[i]]++
	}
	return m, nil
}

// counts holds the one-vs-rest counts of class k in a confusion matrix M.
type counts struct{ tp, fp, fn, tn int }

func classCounts(m [][]int, k int) counts {
	var c counts
	for t, row := range m {
		for p, n := range row {
			switch {
			case t == k && p == k:
				c.tp += n
			case t == k:
				c.fn += n
			case p == k:
				c.fp += n
			default:
				c.tn += n
			}
		}
	}
	return c
}

// ratio returns a/b for counts 0 <= a <= b; 0/0 gives NaN, never 0 or 1.
func ratio(a, b int) float64 {
	return float64(a) / float64(b) // float 0/0 is NaN.
}

// perClass applies f to the one-vs-rest counts of every class.
func perClass(labels, pred []int, classes int, f func(counts) float64) ([]float64, error) {
	m, err := Confusion(labels, pred, classes)
	if err != nil {
		return nil, err
	}
	out := make([]float64, classes)
	for k := range out {
		out[k] = f(classCounts(m, k))
	}
	return out, nil
}

// Sensitivity returns the recall (true positive rate) of each class, one vs rest:
//
//	sens_k = TP_k / (TP_k + FN_k)
//
// NaN for a class absent from labels.
func Sensitivity(labels, pred []int, classes int) ([]float64, error) {
	return perClass(labels, pred, classes, func(c counts) float64 { return ratio(c.tp, c.tp+c.fn) })
}

// Specificity returns the true negative rate of each class, one vs rest:
//
//	spec_k = TN_k / (TN_k + FP_k)
//
// NaN for a class that every example belongs to (no negatives).
func Specificity(labels, pred []int, classes int) ([]float64, error) {
	return perClass(labels, pred, classes, func(c counts) float64 { return ratio(c.tn, c.tn+c.fp) })
}

// F1 returns the F1 score of each class, one vs rest:
//
//	F1_k = 2 TP_k / (2 TP_k + FP_k + FN_k)
//
// the harmonic mean of precision and recall. NaN for a class that is neither in
// labels nor ever predicted; 0 for a class in labels that is never predicted
// correctly.
func F1(labels, pred []int, classes int) ([]float64, error) {
	return perClass(labels, pred, classes, func(c counts) float64 { return ratio(2*c.tp, 2*c.tp+c.fp+c.fn) })
}

// BalancedAccuracy returns the mean per-class recall
//
//	BACC = (1/K) Σ_k TP_k / (TP_k + FN_k)
//
// which is 1/K for a constant predictor whatever the class balance. NaN when a
// class is absent from labels (scikit-learn instead skips it with a warning).
func BalancedAccuracy(labels, pred []int, classes int) (float64, error) {
	sens, err := Sensitivity(labels, pred, classes)
	if err != nil {
		return 0, err
	}
	return stat.Mean(sens, nil), nil
}

// MacroF1 returns the unweighted mean of the per-class F1 scores over all K
// classes (both classes of a binary problem):
//
//	MacroF1 = (1/K) Σ_k F1_k
//
// NaN when some F1_k is NaN (a class neither present nor predicted).
func MacroF1(labels, pred []int, classes int) (float64, error) {
	f1, err := F1(labels, pred, classes)
	if err != nil {
		return 0, err
	}
	return stat.Mean(f1, nil), nil
}
