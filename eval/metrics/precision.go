package metrics

import "gonum.org/v1/gonum/stat"

// Precision returns the precision (positive predictive value) of each class, one
// vs rest:
//
//	prec_k = TP_k / (TP_k + FP_k)
//
// NaN for a class that is never predicted (0/0; scikit-learn's zero_division
// instead substitutes 0 or 1).
func Precision(labels, pred []int, classes int) ([]float64, error) {
	return perClass(labels, pred, classes, func(c counts) float64 { return ratio(c.tp, c.tp+c.fp) })
}

// MacroPrecision returns the unweighted mean of the per-class precisions over all
// K classes:
//
//	MacroPrecision = (1/K) Σ_k prec_k
//
// NaN when some class is never predicted, as happens for a classifier that
// collapsed onto the majority class.
func MacroPrecision(labels, pred []int, classes int) (float64, error) {
	p, err := Precision(labels, pred, classes)
	if err != nil {
		return 0, err
	}
	return stat.Mean(p, nil), nil
}
