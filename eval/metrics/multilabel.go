package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
)

// Multi-label metrics. Throughout this file:
//
//   - labels is an N x L matrix: labels[i][l] is 1 when example i has label (finding) l,
//     0 when it has not; any other value is an ErrLabel error.
//   - scores is an N x L matrix of independent per-label probabilities (sigmoid outputs,
//     so rows need not sum to 1), finite and in [0, 1] (ErrScore otherwise).
//
// MedMNIST's evaluator (getAUC and getACC for "multi-label, binary-class") scores a
// multi-label task label by label: the AUC is the mean over labels of each label's ROC
// AUC, and the accuracy is the mean over labels of each label's accuracy at the threshold
// 0.5, which is the mean over all N·L (example, label) decisions. A label is predicted
// present when its score is > 0.5 (MedMNIST v2's y_score > threshold; v1 used >= and
// differed only at exactly 0.5).
//
// Labels with a single class. A label that no test example has (common for rare findings
// on small test sets), or that every example has, has no ROC AUC: scikit-learn's
// roc_auc_score, and with it MedMNIST's getAUC, raises an error on it. Here such a label's
// own AUC is NaN, and every macro average (AUC, AP, balanced accuracy, F1) runs over the
// scored labels only: those with both classes among the examples. Metrics.ScoredLabels
// says how many there were, so a macro over fewer labels is visible, not silent. The
// scored set depends only on the true labels, so every model scored on the same test set
// averages over the same labels. When no label is scored, the macros are NaN. Accuracy,
// which is defined for every label, always covers all L.

// checkMultiLabel validates an N x L label matrix against an N x L probability matrix and
// returns L.
func checkMultiLabel(labels [][]int, scores [][]float64) (int, error) {
	if len(labels) == 0 || len(scores) == 0 {
		return 0, fmt.Errorf("%w (%d label rows, %d score rows)", ErrEmpty, len(labels), len(scores))
	}
	if len(labels) != len(scores) {
		return 0, fmt.Errorf("%w: %d label rows but %d score rows", ErrShape, len(labels), len(scores))
	}
	l := len(labels[0])
	if l == 0 {
		return 0, fmt.Errorf("%w: label rows have no columns", ErrShape)
	}
	for i := range labels {
		if len(labels[i]) != l {
			return 0, fmt.Errorf("%w: label row %d has %d labels, row 0 has %d", ErrShape, i, len(labels[i]), l)
		}
		if len(scores[i]) != l {
			return 0, fmt.Errorf("%w: score row %d has %d columns, want %d (one per label)", ErrShape, i, len(scores[i]), l)
		}
		for k, y := range labels[i] {
			if y != 0 && y != 1 {
				return 0, fmt.Errorf("%w: labels[%d][%d] = %d, want 0 or 1", ErrLabel, i, k, y)
			}
		}
		for k, s := range scores[i] {
			if math.IsNaN(s) || s < 0 || s > 1 {
				return 0, fmt.Errorf("%w: scores[%d][%d] = %v is not a probability in [0, 1]", ErrScore, i, k, s)
			}
		}
	}
	return l, nil
}

// perLabel applies a binary score metric to every label column l: metric(scores[·][l],
// labels[·][l] == 1).
func perLabel(labels [][]int, scores [][]float64, metric func([]float64, []bool) (float64, error)) ([]float64, error) {
	l, err := checkMultiLabel(labels, scores)
	if err != nil {
		return nil, err
	}
	col := make([]float64, len(scores))
	pos := make([]bool, len(labels))
	out := make([]float64, l)
	for k := range l {
		for i := range scores {
			col[i], pos[i] = scores[i][k], labels[i][k] == 1
		}
		if out[k], err = metric(col, pos); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ScoredLabels reports, for each label of an N x L 0/1 matrix, whether both classes occur
// in it: the labels the multi-label macro averages run over. Values other than 0 and 1
// count as 1 here; the metrics reject them.
func ScoredLabels(labels [][]int) []bool {
	if len(labels) == 0 {
		return nil
	}
	var pos, neg []bool
	pos, neg = make([]bool, len(labels[0])), make([]bool, len(labels[0]))
	for _, row := range labels {
		for k, y := range row[:min(len(row), len(pos))] {
			if y == 0 {
				neg[k] = true
			} else {
				pos[k] = true
			}
		}
	}
	out := make([]bool, len(pos))
	for k := range out {
		out[k] = pos[k] && neg[k]
	}
	return out
}

// scoredMean is the mean of xs over the scored labels, and how many they are; NaN when
// none is scored (or when a scored value is NaN, which the metrics here never produce).
func scoredMean(xs []float64, scored []bool) (float64, int) {
	var sum float64
	n := 0
	for k, x := range xs {
		if scored[k] {
			sum += x
			n++
		}
	}
	if n == 0 {
		return math.NaN(), 0
	}
	return sum / float64(n), n
}

// LabelAUC returns each label's ROC AUC:
//
//	AUC_l = ROCAUC(scores[·][l], labels[·][l] == 1)
//
// NaN for a label with a single class among the examples.
func LabelAUC(labels [][]int, scores [][]float64) ([]float64, error) {
	return perLabel(labels, scores, ROCAUC)
}

// MultiLabelAUC returns MedMNIST's multi-label AUC, the macro average of the labels' ROC
// AUCs, over the scored labels (see ScoredLabels and the note on labels with a single
// class above), and how many labels it averaged:
//
//	AUC = (1/|S|) Σ_{l ∈ S} AUC_l,   S = labels with both classes present
//
// With every label scored this is MedMNIST's getAUC (and scikit-learn's roc_auc_score
// with average="macro"); NaN and 0 when no label is scored.
func MultiLabelAUC(labels [][]int, scores [][]float64) (auc float64, scored int, err error) {
	per, err := LabelAUC(labels, scores)
	if err != nil {
		return 0, 0, err
	}
	auc, scored = scoredMean(per, ScoredLabels(labels))
	return auc, scored, nil
}

// LabelAveragePrecision returns each label's average precision (AveragePrecision of
// scores[·][l] as a detector of labels[·][l] == 1): NaN for a label no example has, 1 for
// a label every example has.
func LabelAveragePrecision(labels [][]int, scores [][]float64) ([]float64, error) {
	return perLabel(labels, scores, AveragePrecision)
}

// MultiLabelAP returns the macro average precision over the scored labels, the same
// labels as MultiLabelAUC, and how many they are:
//
//	AP = (1/|S|) Σ_{l ∈ S} AP_l
//
// scikit-learn's average_precision_score(average="macro") instead counts a label every
// example has as 1 and one no example has as 0 (with a warning); keeping both macros over
// the same labels keeps them comparable. NaN and 0 when no label is scored.
func MultiLabelAP(labels [][]int, scores [][]float64) (ap float64, scored int, err error) {
	per, err := LabelAveragePrecision(labels, scores)
	if err != nil {
		return 0, 0, err
	}
	ap, scored = scoredMean(per, ScoredLabels(labels))
	return ap, scored, nil
}

// PredictMultiLabel applies MedMNIST's multi-label threshold to an N x L probability
// matrix: pred[i][l] = 1 if scores[i][l] > 0.5, else 0.
func PredictMultiLabel(scores [][]float64) ([][]int, error) {
	zeros := make([][]int, len(scores))
	for i, row := range scores {
		zeros[i] = make([]int, len(row)) // all 0: valid, lets checkMultiLabel check the shape
	}
	if _, err := checkMultiLabel(zeros, scores); err != nil {
		return nil, err
	}
	for i, row := range scores {
		for k, s := range row {
			if s > Threshold {
				zeros[i][k] = 1
			}
		}
	}
	return zeros, nil
}

// MultiLabelACC returns MedMNIST's multi-label accuracy (getACC): each label's accuracy at
// the threshold 0.5, averaged over all L labels,
//
//	ACC = (1/L) Σ_l (1/N) Σ_i [pred_il = labels_il],   pred_il = [scores_il > 0.5]
//
// which equals the fraction of the N·L decisions that are right. It is defined for every
// label, so no label is left out.
func MultiLabelACC(labels [][]int, scores [][]float64) (float64, error) {
	l, err := checkMultiLabel(labels, scores)
	if err != nil {
		return 0, err
	}
	pred, _ := PredictMultiLabel(scores)
	acc := make([]float64, l)
	for k := range l {
		right := 0
		for i := range labels {
			if pred[i][k] == labels[i][k] {
				right++
			}
		}
		acc[k] = float64(right) / float64(len(labels))
	}
	return stat.Mean(acc, nil), nil
}

// labelCounts returns each label's counts of the decisions at 0.5.
func labelCounts(labels [][]int, scores [][]float64) ([]counts, error) {
	l, err := checkMultiLabel(labels, scores)
	if err != nil {
		return nil, err
	}
	out := make([]counts, l)
	for i := range labels {
		for k, y := range labels[i] {
			p := scores[i][k] > Threshold
			switch {
			case y == 1 && p:
				out[k].tp++
			case y == 1:
				out[k].fn++
			case p:
				out[k].fp++
			default:
				out[k].tn++
			}
		}
	}
	return out, nil
}

func mapCounts(cs []counts, f func(counts) float64) []float64 {
	out := make([]float64, len(cs))
	for k, c := range cs {
		out[k] = f(c)
	}
	return out
}

// LabelSensitivity returns each label's sensitivity (recall) at the threshold 0.5:
//
//	sens_l = TP_l / (TP_l + FN_l),   predicted present when scores[i][l] > 0.5
//
// NaN for a label no example has.
func LabelSensitivity(labels [][]int, scores [][]float64) ([]float64, error) {
	cs, err := labelCounts(labels, scores)
	if err != nil {
		return nil, err
	}
	return mapCounts(cs, func(c counts) float64 { return ratio(c.tp, c.tp+c.fn) }), nil
}

// LabelSpecificity returns each label's specificity at the threshold 0.5:
//
//	spec_l = TN_l / (TN_l + FP_l)
//
// NaN for a label every example has.
func LabelSpecificity(labels [][]int, scores [][]float64) ([]float64, error) {
	cs, err := labelCounts(labels, scores)
	if err != nil {
		return nil, err
	}
	return mapCounts(cs, func(c counts) float64 { return ratio(c.tn, c.tn+c.fp) }), nil
}

// ComputeMultiLabel returns the metrics of an N x L multi-label problem in the Metrics
// that Compute fills for single-label ones, with MultiLabel set and Classes = L:
//
//   - AUC and AP: MultiLabelAUC and MultiLabelAP (macro over the scored labels);
//     LabelAUC and LabelAP hold every label's value (NaN where undefined);
//   - ACC: MultiLabelACC (MedMNIST's, over all labels);
//   - Sensitivity and Specificity: each label's, at the threshold 0.5;
//   - BalancedACC: the mean over scored labels of (sens_l + spec_l)/2, each label's
//     balanced accuracy as a binary problem;
//   - MacroF1: the mean over scored labels of F1_l = 2TP_l/(2TP_l + FP_l + FN_l);
//   - ScoredLabels: how many labels the macros averaged.
//
// ECE, MacroPrec, Precision and Confusion are single-label notions: NaN and nil here.
func ComputeMultiLabel(labels [][]int, scores [][]float64) (Metrics, error) {
	cs, err := labelCounts(labels, scores)
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{N: len(labels), Classes: len(cs), MultiLabel: true, ECE: math.NaN(), MacroPrec: math.NaN()}
	// Inputs are valid from here on: the calls below cannot fail.
	m.LabelAUC, _ = LabelAUC(labels, scores)
	m.LabelAP, _ = LabelAveragePrecision(labels, scores)
	scored := ScoredLabels(labels)
	m.AUC, m.ScoredLabels = scoredMean(m.LabelAUC, scored)
	m.AP, _ = scoredMean(m.LabelAP, scored)
	m.ACC, _ = MultiLabelACC(labels, scores)
	m.Sensitivity = mapCounts(cs, func(c counts) float64 { return ratio(c.tp, c.tp+c.fn) })
	m.Specificity = mapCounts(cs, func(c counts) float64 { return ratio(c.tn, c.tn+c.fp) })
	bacc := make([]float64, len(cs))
	for k := range bacc {
		bacc[k] = (m.Sensitivity[k] + m.Specificity[k]) / 2
	}
	m.BalancedACC, _ = scoredMean(bacc, scored)
	m.MacroF1, _ = scoredMean(mapCounts(cs, func(c counts) float64 { return ratio(2*c.tp, 2*c.tp+c.fp+c.fn) }), scored)
	return m, nil
}
