package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors returned (wrapped, with details) for malformed input.
var (
	// ErrEmpty reports that there are no examples.
	ErrEmpty = errors.New("metrics: no examples")
	// ErrShape reports inconsistent lengths, ragged score rows or too few classes.
	ErrShape = errors.New("metrics: inconsistent shape")
	// ErrLabel reports a label or prediction outside [0, classes).
	ErrLabel = errors.New("metrics: class index out of range")
	// ErrScore reports a score that is NaN, infinite or, for probabilities, outside [0, 1].
	ErrScore = errors.New("metrics: invalid score")
	// ErrParam reports an invalid setting: a confidence level outside (0, 1), a
	// non-positive number of bins, replicates or temperature, a nil function.
	ErrParam = errors.New("metrics: invalid parameter")
)

// checkScores validates an N x C probability matrix against labels and returns
// the number of classes K (C, or 2 when C == 1).
func checkScores(labels []int, scores [][]float64) (int, error) {
	if len(labels) == 0 || len(scores) == 0 {
		return 0, fmt.Errorf("%w (%d labels, %d score rows)", ErrEmpty, len(labels), len(scores))
	}
	if len(labels) != len(scores) {
		return 0, fmt.Errorf("%w: %d labels but %d score rows", ErrShape, len(labels), len(scores))
	}
	c := len(scores[0])
	if c == 0 {
		return 0, fmt.Errorf("%w: score rows have no columns", ErrShape)
	}
	for i, row := range scores {
		if len(row) != c {
			return 0, fmt.Errorf("%w: score row %d has %d columns, row 0 has %d", ErrShape, i, len(row), c)
		}
		for k, s := range row {
			if math.IsNaN(s) || s < 0 || s > 1 {
				return 0, fmt.Errorf("%w: scores[%d][%d] = %v is not a probability in [0, 1]", ErrScore, i, k, s)
			}
		}
	}
	classes := c
	if c == 1 {
		classes = 2
	}
	if err := checkRange("label", labels, classes); err != nil {
		return 0, err
	}
	return classes, nil
}

// checkRange reports the first value of xs outside [0, classes).
func checkRange(what string, xs []int, classes int) error {
	for i, x := range xs {
		if x < 0 || x >= classes {
			return fmt.Errorf("%w: %s[%d] = %d, want [0, %d)", ErrLabel, what, i, x, classes)
		}
	}
	return nil
}

// checkPred validates labels and predictions of the given number of classes.
func checkPred(labels, pred []int, classes int) error {
	if classes < 2 {
		return fmt.Errorf("%w: need at least 2 classes, got %d", ErrShape, classes)
	}
	if len(labels) == 0 {
		return fmt.Errorf("%w (0 labels)", ErrEmpty)
	}
	if len(labels) != len(pred) {
		return fmt.Errorf("%w: %d labels but %d predictions", ErrShape, len(labels), len(pred))
	}
	if err := checkRange("label", labels, classes); err != nil {
		return err
	}
	return checkRange("prediction", pred, classes)
}

// checkFinite reports the first NaN or infinite value of xs.
func checkFinite(what string, xs []float64) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] = %v", ErrScore, what, i, x)
		}
	}
	return nil
}

// checkLevel reports a confidence level outside the open interval (0, 1).
func checkLevel(level float64) error {
	if !(level > 0 && level < 1) {
		return fmt.Errorf("%w: confidence level %v, want (0, 1)", ErrParam, level)
	}
	return nil
}
