package metrics

import (
	"errors"
	"math"
	"testing"
)

func TestRegression(t *testing.T) {
	// Errors y - ŷ = -0.5, 0, 1, -1: MAE 2.5/4, MSE 2.25/4, RMSE 0.75;
	// ȳ = 2.5, Σ(y-ȳ)² = 5, R² = 1 - 2.25/5 = 0.55.
	m, err := Regression([]float64{1, 2, 3, 4}, []float64{1.5, 2, 2, 5})
	if err != nil {
		t.Fatal(err)
	}
	want := RegressionMetrics{MAE: 0.625, MSE: 0.5625, RMSE: 0.75, R2: 0.55}
	if math.Abs(m.MAE-want.MAE) > 1e-15 || math.Abs(m.MSE-want.MSE) > 1e-15 ||
		math.Abs(m.RMSE-want.RMSE) > 1e-15 || math.Abs(m.R2-want.R2) > 1e-15 {
		t.Errorf("Regression = %+v, want %+v", m, want)
	}
	// Predicting the mean gives R² = 0.
	if m, _ := Regression([]float64{1, 2, 3, 4}, []float64{2.5, 2.5, 2.5, 2.5}); m.R2 != 0 {
		t.Errorf("mean predictor R2 = %v, want 0", m.R2)
	}
	// Constant truth: R² undefined.
	if m, err := Regression([]float64{3, 3}, []float64{3, 4}); err != nil || !math.IsNaN(m.R2) || m.MAE != 0.5 {
		t.Errorf("constant truth: %+v, %v; want NaN R2, MAE 0.5", m, err)
	}
	for name, tc := range map[string]struct {
		y, p []float64
		want error
	}{
		"empty":    {nil, nil, ErrEmpty},
		"mismatch": {[]float64{1}, []float64{1, 2}, ErrShape},
		"NaN":      {[]float64{1, 2}, []float64{1, math.NaN()}, ErrScore},
		"Inf":      {[]float64{math.Inf(-1), 2}, []float64{1, 2}, ErrScore},
	} {
		if _, err := Regression(tc.y, tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
