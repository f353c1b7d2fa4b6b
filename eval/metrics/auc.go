package metrics

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// ROCAUC returns the area under the ROC curve of score as a detector of positive,
// computed exactly through the Mann-Whitney U statistic:
//
//	AUC = U / (P * N),   U = R₊ - P(P+1)/2
//
// where P and N are the numbers of positive and negative examples and R₊ is the sum
// of the ranks (1-based, ascending score) of the positive examples, tied scores
// sharing the average of their ranks. Equivalently, AUC is the probability that a
// random positive scores above a random negative, a tie counting 1/2:
//
//	AUC = (1/(P N)) Σ_{i pos} Σ_{j neg} ( [s_i > s_j] + ½ [s_i = s_j] )
//
// which is also the trapezoidal area under the ROC curve. It takes O(n log n).
//
// Scores may be any finite values (probabilities, logits, distances); NaN or ±Inf
// is an ErrScore error. With no positive or no negative example the AUC is
// undefined and ROCAUC returns NaN and a nil error.
func ROCAUC(score []float64, positive []bool) (float64, error) {
	if len(score) == 0 {
		return 0, fmt.Errorf("%w (0 scores)", ErrEmpty)
	}
	if len(score) != len(positive) {
		return 0, fmt.Errorf("%w: %d scores but %d class flags", ErrShape, len(score), len(positive))
	}
	for i, s := range score {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return 0, fmt.Errorf("%w: score[%d] = %v", ErrScore, i, s)
		}
	}
	order := make([]int, len(score))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return score[order[a]] < score[order[b]] })

	var nPos, nNeg int
	var rankSum float64 // R₊, a sum of half-integers: exact below 2⁵² examples.
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && score[order[hi]] == score[order[lo]] {
			hi++
		}
		// Positions lo..hi-1 hold ranks lo+1..hi; their average is (lo+1+hi)/2.
		avg := float64(lo+1+hi) / 2
		for _, i := range order[lo:hi] {
			if positive[i] {
				nPos++
				rankSum += avg
			} else {
				nNeg++
			}
		}
		lo = hi
	}
	if nPos == 0 || nNeg == 0 {
		return math.NaN(), nil
	}
	p, n := float64(nPos), float64(nNeg)
	u := rankSum - p*(p+1)/2
	return u / (p * n), nil
}

// OneVsRestAUC returns, for each class k of an N x C probability matrix, the ROC
// AUC of scores[·][k] as a detector of labels == k:
//
//	AUC_k = ROCAUC(scores[·][k], labels == k)
//
// AUC_k is NaN when class k is absent from labels, or when it is the only class
// present. With C == 1 (a single positive-class column) it returns one value, the
// AUC of class 1.
func OneVsRestAUC(labels []int, scores [][]float64) ([]float64, error) {
	return oneVsRest(labels, scores, ROCAUC)
}

// oneVsRest applies a binary score metric to each column k of an N x C probability
// matrix against labels == k (against labels == 1 for a single binary column).
func oneVsRest(labels []int, scores [][]float64, metric func([]float64, []bool) (float64, error)) ([]float64, error) {
	classes, err := checkScores(labels, scores)
	if err != nil {
		return nil, err
	}
	cols := len(scores[0])
	col := make([]float64, len(scores))
	pos := make([]bool, len(labels))
	out := make([]float64, cols)
	for k := range cols {
		target := k
		if classes == 2 && cols == 1 {
			target = 1
		}
		for i, row := range scores {
			col[i] = row[k]
			pos[i] = labels[i] == target
		}
		if out[k], err = metric(col, pos); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// macro applies a binary score metric with MedMNIST's conventions: the last column
// against labels == 1 for binary problems, the mean over one-vs-rest columns otherwise
// (NaN if any class is undefined, on purpose).
func macro(labels []int, scores [][]float64, metric func([]float64, []bool) (float64, error)) (float64, error) {
	classes, err := checkScores(labels, scores)
	if err != nil {
		return 0, err
	}
	if classes == 2 {
		last := len(scores[0]) - 1
		col := make([]float64, len(scores))
		pos := make([]bool, len(labels))
		for i, row := range scores {
			col[i] = row[last]
			pos[i] = labels[i] == 1
		}
		return metric(col, pos)
	}
	per, err := oneVsRest(labels, scores, metric)
	if err != nil {
		return 0, err
	}
	return stat.Mean(per, nil), nil
}

// AUC returns the ROC AUC as MedMNIST defines it (evaluator.getAUC):
//
//	binary (K = 2):      AUC = ROCAUC(scores[·][C-1], labels == 1)
//	multi-class (K > 2): AUC = (1/K) Σ_k ROCAUC(scores[·][k], labels == k)
//
// The binary case uses only the last column (the positive class), as MedMNIST
// does. The result is NaN when a class is absent from labels.
func AUC(labels []int, scores [][]float64) (float64, error) {
	return macro(labels, scores, ROCAUC)
}
