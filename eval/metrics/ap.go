package metrics

import (
	"fmt"
	"math"
	"sort"
)

// AveragePrecision returns the area under the precision-recall curve of score as
// a detector of positive, with scikit-learn's definition (average_precision_score):
// a step function, without interpolation,
//
//	AP = Σ_n (R_n - R_{n-1}) P_n,   R_0 = 0
//
// where n runs over the distinct score values t_1 > t_2 > ... taken as thresholds
// (predict positive when score >= t_n), P_n = TP_n / (TP_n + FP_n) and R_n = TP_n / P.
// Tied scores enter the ranking together at one threshold, as in scikit-learn, so
// the result does not depend on the order of tied examples. A random detector has
// an AP near the positive rate P/N, not 1/2.
//
// Scores may be any finite values; NaN or ±Inf is an ErrScore error. With no
// positive example AP is undefined and AveragePrecision returns NaN and a nil
// error (scikit-learn returns 0 with a warning). With no negative example it is 1.
func AveragePrecision(score []float64, positive []bool) (float64, error) {
	if len(score) == 0 {
		return 0, fmt.Errorf("%w (0 scores)", ErrEmpty)
	}
	if len(score) != len(positive) {
		return 0, fmt.Errorf("%w: %d scores but %d class flags", ErrShape, len(score), len(positive))
	}
	if err := checkFinite("score", score); err != nil {
		return 0, err
	}
	nPos := 0
	for _, p := range positive {
		if p {
			nPos++
		}
	}
	if nPos == 0 {
		return math.NaN(), nil
	}
	order := make([]int, len(score))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return score[order[a]] > score[order[b]] })

	var tp, fp int
	var ap float64
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && score[order[hi]] == score[order[lo]] {
			hi++
		}
		newTP := 0
		for _, i := range order[lo:hi] {
			if positive[i] {
				newTP++
			} else {
				fp++
			}
		}
		tp += newTP
		// ΔR = newTP / P; P_n = tp / (tp + fp).
		ap += float64(newTP) / float64(nPos) * float64(tp) / float64(tp+fp)
		lo = hi
	}
	return ap, nil
}

// OneVsRestAveragePrecision returns, for each column k of an N x C probability
// matrix, AveragePrecision(scores[·][k], labels == k). AP_k is NaN when class k is
// absent from labels. With C == 1 (a single positive-class column) it returns one
// value, the AP of class 1.
func OneVsRestAveragePrecision(labels []int, scores [][]float64) ([]float64, error) {
	return oneVsRest(labels, scores, AveragePrecision)
}

// MacroAveragePrecision returns the average precision of an N x C probability
// matrix with the conventions of AUC:
//
//	binary (K = 2):      AP = AveragePrecision(scores[·][C-1], labels == 1)
//	multi-class (K > 2): AP = (1/K) Σ_k AveragePrecision(scores[·][k], labels == k)
//
// The binary case is the AP of the positive class only, as scikit-learn's
// average_precision_score on a binary target; the multi-class case is its
// average="macro" on one-hot targets. NaN when a class is absent from labels.
func MacroAveragePrecision(labels []int, scores [][]float64) (float64, error) {
	return macro(labels, scores, AveragePrecision)
}
