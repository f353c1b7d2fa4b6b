package metrics

import (
	"fmt"
	"math"
)

// RegressionMetrics holds the errors of real-valued predictions.
type RegressionMetrics struct {
	MAE  float64 // mean absolute error, (1/N) Σ |y_i - ŷ_i|
	MSE  float64 // mean squared error, (1/N) Σ (y_i - ŷ_i)²
	RMSE float64 // √MSE
	// R2 is the coefficient of determination 1 - Σ (y_i - ŷ_i)² / Σ (y_i - ȳ)²,
	// 1 for perfect predictions, 0 for predicting the mean, negative when worse.
	// NaN when the truth is constant (scikit-learn's r2_score returns 1 or 0 then).
	R2 float64
}

// Regression returns the regression errors of pred against truth. Empty,
// mismatched or non-finite input is an error.
func Regression(truth, pred []float64) (RegressionMetrics, error) {
	if len(truth) == 0 {
		return RegressionMetrics{}, fmt.Errorf("%w (0 targets)", ErrEmpty)
	}
	if len(truth) != len(pred) {
		return RegressionMetrics{}, fmt.Errorf("%w: %d targets but %d predictions", ErrShape, len(truth), len(pred))
	}
	if err := checkFinite("truth", truth); err != nil {
		return RegressionMetrics{}, err
	}
	if err := checkFinite("prediction", pred); err != nil {
		return RegressionMetrics{}, err
	}
	n := float64(len(truth))
	var mean float64
	for _, y := range truth {
		mean += y
	}
	mean /= n
	var abs, ssRes, ssTot float64
	for i, y := range truth {
		e := y - pred[i]
		abs += math.Abs(e)
		ssRes += e * e
		ssTot += (y - mean) * (y - mean)
	}
	m := RegressionMetrics{MAE: abs / n, MSE: ssRes / n}
	m.RMSE = math.Sqrt(m.MSE)
	m.R2 = math.NaN()
	if ssTot > 0 {
		m.R2 = 1 - ssRes/ssTot
	}
	return m, nil
}
