package metrics

import (
	"errors"
	"math"
	"testing"
)

func TestMaxSoftmaxAndEnergy(t *testing.T) {
	ln3 := math.Log(3)
	logits := [][]float64{
		{0, ln3},         // softmax 1/4, 3/4
		{1000, 1000},     // overflow-prone: softmax 1/2, 1/2
		{-5, -5, -5, -5}, // uniform over 4
		{1, math.NaN()},  // invalid
		{},               // invalid
	}
	msp := MaxSoftmaxScore(logits)
	wantMSP := []float64{0.75, 0.5, 0.25}
	for i, w := range wantMSP {
		if math.Abs(msp[i]-w) > 1e-15 {
			t.Errorf("MSP row %d = %v, want %v", i, msp[i], w)
		}
	}
	if !math.IsNaN(msp[3]) || !math.IsNaN(msp[4]) {
		t.Errorf("MSP of invalid rows = %v, %v; want NaN", msp[3], msp[4])
	}
	// T = 1: log(e^0 + e^ln3) = log 4; 1000 + log 2; -5 + log 4.
	e1 := EnergyScore(logits, 1)
	wantE1 := []float64{math.Log(4), 1000 + math.Log(2), -5 + math.Log(4)}
	// T = 2: 2·log(e^0 + e^(ln3/2)) = 2·log(1 + √3).
	e2 := EnergyScore(logits, 2)
	for i, w := range wantE1 {
		if math.Abs(e1[i]-w) > 1e-12 {
			t.Errorf("energy T=1 row %d = %v, want %v", i, e1[i], w)
		}
	}
	if w := 2 * math.Log(1+math.Sqrt(3)); math.Abs(e2[0]-w) > 1e-15 {
		t.Errorf("energy T=2 row 0 = %v, want %v", e2[0], w)
	}
	if !math.IsNaN(e1[3]) || !math.IsNaN(e1[4]) {
		t.Errorf("energy of invalid rows = %v, %v; want NaN", e1[3], e1[4])
	}
	for _, temp := range []float64{0, -1, math.Inf(1), math.NaN()} {
		if e := EnergyScore(logits[:1], temp); !math.IsNaN(e[0]) {
			t.Errorf("temperature %v: %v, want NaN", temp, e[0])
		}
	}
}

func TestMahalanobis(t *testing.T) {
	// Two classes in 2-D.
	feats := [][]float64{{1, 2}, {2, 3}, {3, 3}, {2, 4}, {6, 1}, {7, 2}, {8, 1}}
	labels := []int{0, 0, 0, 0, 1, 1, 1}
	// μ0 = (2, 3), μ1 = (7, 4/3). Residuals x - μ_y:
	// (-1,-1) (0,0) (1,0) (0,1) | (-1,-1/3) (0,2/3) (1,-1/3)
	// N·Σ: xx = 1+0+1+0+1+0+1 = 4, yy = 1+0+0+1+1/9+4/9+1/9 = 8/3,
	//      xy = 1+0+0+0+1/3+0-1/3 = 1.
	n := 7.0
	sxx, syy, sxy := 4/n, 8.0/3/n, 1/n
	lambda := 1e-6 * (sxx + syy) / 2
	a, c, b := sxx+lambda, syy+lambda, sxy
	det := a*c - b*b
	inv := [2][2]float64{{c / det, -b / det}, {-b / det, a / det}} // explicit 2x2 inverse
	means := [][]float64{{2, 3}, {7, 4.0 / 3}}
	direct := func(x []float64) float64 {
		best := math.Inf(1)
		for _, mu := range means {
			dx, dy := x[0]-mu[0], x[1]-mu[1]
			d2 := dx*(inv[0][0]*dx+inv[0][1]*dy) + dy*(inv[1][0]*dx+inv[1][1]*dy)
			best = math.Min(best, d2)
		}
		return -best
	}

	m, err := FitMahalanobis(feats, labels)
	if err != nil {
		t.Fatal(err)
	}
	for k, mu := range means {
		if math.Abs(m.Means[k][0]-mu[0]) > 1e-15 || math.Abs(m.Means[k][1]-mu[1]) > 1e-15 {
			t.Errorf("mean %d = %v, want %v", k, m.Means[k], mu)
		}
	}
	if math.Abs(m.Lambda-lambda) > 1e-20 {
		t.Errorf("ridge = %v, want %v", m.Lambda, lambda)
	}
	test := [][]float64{{2, 3}, {4.5, 2}, {0, 0}, {10, -5}, {7, 4.0 / 3}, {1, 2, 3}, {math.NaN(), 1}}
	got := m.Score(test)
	for i, x := range test[:5] {
		want := direct(x)
		if math.Abs(got[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("score(%v) = %v, want %v", x, got[i], want)
		}
	}
	if math.Abs(got[0]) > 1e-12 {
		t.Errorf("score at a class mean = %v, want 0", got[0])
	}
	if !math.IsNaN(got[5]) || !math.IsNaN(got[6]) {
		t.Errorf("wrong-length / NaN rows = %v, %v; want NaN", got[5], got[6])
	}
	// A far point scores lower than a point between the classes.
	if !(got[3] < got[1]) {
		t.Errorf("far point %v should score below %v", got[3], got[1])
	}

	if s := (&Mahalanobis{}).Score(test[:1]); !math.IsNaN(s[0]) {
		t.Errorf("zero Mahalanobis scored %v, want NaN", s[0])
	}
	// More dimensions than examples: the ridge keeps Σ invertible.
	wide := [][]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 1}}
	if m, err := FitMahalanobis(wide, []int{0, 0, 1}); err != nil {
		t.Errorf("rank-deficient covariance: %v", err)
	} else if s := m.Score(wide); math.IsNaN(s[0]) || math.IsInf(s[0], 0) {
		t.Errorf("rank-deficient scores %v", s)
	}

	for name, tc := range map[string]struct {
		feats  [][]float64
		labels []int
		want   error
	}{
		"empty":          {nil, nil, ErrEmpty},
		"missing class":  {[][]float64{{1, 2}, {2, 1}}, []int{0, 2}, ErrEmpty},
		"negative label": {[][]float64{{1, 2}, {2, 1}}, []int{0, -1}, ErrLabel},
		"ragged":         {[][]float64{{1, 2}, {2}}, []int{0, 1}, ErrShape},
		"mismatch":       {[][]float64{{1, 2}}, []int{0, 1}, ErrShape},
		"constant":       {[][]float64{{1, 2}, {1, 2}, {3, 3}}, []int{0, 0, 1}, ErrShape},
		"NaN":            {[][]float64{{1, math.NaN()}, {2, 1}}, []int{0, 1}, ErrScore},
	} {
		if _, err := FitMahalanobis(tc.feats, tc.labels); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}

func TestOODAUROCAndFPR(t *testing.T) {
	// In {0.9, 0.8, 0.4} vs OOD {0.5, 0.1}: 0.9 and 0.8 beat both, 0.4 beats one: 5/6.
	got, err := OODAUROC([]float64{0.9, 0.8, 0.4}, []float64{0.5, 0.1})
	if err != nil || math.Abs(got-5.0/6) > 1e-15 {
		t.Errorf("OODAUROC = %v, %v; want 5/6", got, err)
	}
	if got, _ := OODAUROC([]float64{0.5}, []float64{0.5}); got != 0.5 {
		t.Errorf("tie: %v, want 0.5", got)
	}
	if _, err := OODAUROC(nil, []float64{1}); !errors.Is(err, ErrEmpty) {
		t.Errorf("no in-distribution scores: %v, want ErrEmpty", err)
	}
	if _, err := OODAUROC([]float64{1}, []float64{math.NaN()}); !errors.Is(err, ErrScore) {
		t.Errorf("NaN: %v, want ErrScore", err)
	}

	// In = 1..20: keeping 95% = 19 of them puts τ at 2; OOD {0, 1.5, 2, 3}: 2 of 4 >= 2.
	in := make([]float64, 20)
	for i := range in {
		in[i] = float64(i + 1)
	}
	fpr, err := FPRAtTPR(in, []float64{0, 1.5, 2, 3}, 0.95)
	if err != nil || fpr != 0.5 {
		t.Errorf("FPRAtTPR = %v, %v; want 0.5", fpr, err)
	}
	if fpr, _ := FPRAtTPR(in, []float64{0, 0.5}, 1); fpr != 0 {
		t.Errorf("tpr 1, τ = 1: FPR %v, want 0", fpr)
	}
	if _, err := FPRAtTPR(in, []float64{1}, 0); !errors.Is(err, ErrParam) {
		t.Errorf("tpr 0: %v, want ErrParam", err)
	}
}
