package metrics

import (
	"errors"
	"math"
	"testing"
)

func TestMeanSD(t *testing.T) {
	// Mean 5, Σ(x-5)² = 9+1+1+1+0+0+4+16 = 32, sd = √(32/7).
	mean, sd := MeanSD([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if mean != 5 || math.Abs(sd-math.Sqrt(32.0/7)) > 1e-15 {
		t.Errorf("MeanSD = %v, %v; want 5, %v", mean, sd, math.Sqrt(32.0/7))
	}
	if mean, sd := MeanSD([]float64{0.8}); mean != 0.8 || !math.IsNaN(sd) {
		t.Errorf("one value: %v, %v; want 0.8, NaN", mean, sd)
	}
	if mean, sd := MeanSD(nil); !math.IsNaN(mean) || !math.IsNaN(sd) {
		t.Errorf("empty: %v, %v; want NaN, NaN", mean, sd)
	}
	if mean, sd := MeanSD([]float64{1, math.NaN(), 3}); !math.IsNaN(mean) || !math.IsNaN(sd) {
		t.Errorf("NaN value: %v, %v; want NaN, NaN", mean, sd)
	}
}

func TestTInterval(t *testing.T) {
	// Closed-form t quantiles: ν = 1 is Cauchy, q = tan(π(p - 1/2)); ν = 2 has
	// q = (2p - 1) / √(2p(1-p)). Tables: t_{1,.975} = 12.706, t_{2,.975} = 4.303.
	for _, tc := range []struct {
		xs    []float64
		level float64
		q     float64
	}{
		{[]float64{0.80, 0.86}, 0.95, math.Tan(math.Pi * (0.975 - 0.5))},
		{[]float64{0.81, 0.84, 0.79}, 0.95, 0.95 / math.Sqrt(2*0.975*0.025)},
		{[]float64{0.81, 0.84, 0.79}, 0.90, 0.90 / math.Sqrt(2*0.95*0.05)},
	} {
		n := float64(len(tc.xs))
		var mean, ss float64
		for _, x := range tc.xs {
			mean += x / n
		}
		for _, x := range tc.xs {
			ss += (x - mean) * (x - mean)
		}
		half := tc.q * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
		lo, hi, err := TInterval(tc.xs, tc.level)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(lo-(mean-half)) > 1e-9 || math.Abs(hi-(mean+half)) > 1e-9 {
			t.Errorf("%v at %v: [%v, %v], want [%v, %v]", tc.xs, tc.level, lo, hi, mean-half, mean+half)
		}
	}
	// Table value for ν = 9: t_{9,.975} = 2.2622 (to 4 decimals); sd of 0..9 is √(82.5/9).
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	lo, hi, _ := TInterval(xs, 0.95)
	if half := (hi - lo) / 2; math.Abs(half/(math.Sqrt(82.5/9)/math.Sqrt(10))-2.2622) > 5e-5 {
		t.Errorf("ν = 9: half-width %v gives t = %v, want 2.2622", half, half/(math.Sqrt(82.5/9)/math.Sqrt(10)))
	}
	if lo, hi, err := TInterval([]float64{0.7, 0.7, 0.7}, 0.95); err != nil || lo != hi || math.Abs(lo-0.7) > 1e-15 {
		t.Errorf("constant: [%v, %v], %v; want [0.7, 0.7] (zero width)", lo, hi, err)
	}
	if lo, hi, err := TInterval([]float64{0.7, math.NaN()}, 0.95); err != nil || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("NaN value: [%v, %v], %v; want NaN bounds", lo, hi, err)
	}
	if _, _, err := TInterval([]float64{0.7}, 0.95); !errors.Is(err, ErrEmpty) {
		t.Errorf("one value: %v, want ErrEmpty", err)
	}
	for _, level := range []float64{0, 1, -0.5, 95, math.NaN()} {
		if _, _, err := TInterval([]float64{1, 2}, level); !errors.Is(err, ErrParam) {
			t.Errorf("level %v: %v, want ErrParam", level, err)
		}
	}
}

// The bounded interval is the t-interval cut to the metric's range: checked against the
// closed-form t quantile for ν = 2 on values whose plain t-interval leaves [0, 1] (ACC
// 0.594 ± 0.248 over 3 seeds gives [-0.022, 1.210]).
func TestTIntervalWithin(t *testing.T) {
	q := 0.95 / math.Sqrt(2*0.975*0.025) // t_{2,.975}
	for _, xs := range [][]float64{{0.35, 0.6, 0.832}, {0.97, 0.99, 1}, {0, 0.1, 0.05}, {0.7, 0.72, 0.74}} {
		n := float64(len(xs))
		var mean, ss float64
		for _, x := range xs {
			mean += x / n
		}
		for _, x := range xs {
			ss += (x - mean) * (x - mean)
		}
		half := q * math.Sqrt(ss/(n-1)) / math.Sqrt(n)
		wantLo, wantHi := math.Max(0, mean-half), math.Min(1, mean+half)
		lo, hi, err := TIntervalWithin(xs, 0.95, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(lo-wantLo) > 1e-12 || math.Abs(hi-wantHi) > 1e-12 || !(lo <= mean && mean <= hi) {
			t.Errorf("%v: [%v, %v], want [%v, %v] around the mean %v", xs, lo, hi, wantLo, wantHi, mean)
		}
	}
	if lo, hi, _ := TIntervalWithin([]float64{0.35, 0.6, 0.832}, 0.95, 0, 1); lo != 0 || hi != 1 {
		t.Errorf("wide case: [%v, %v], want [0, 1]", lo, hi)
	}
	if _, _, err := TIntervalWithin([]float64{0.5, 1.2}, 0.95, 0, 1); !errors.Is(err, ErrScore) {
		t.Errorf("value 1.2: %v, want ErrScore", err)
	}
	if lo, hi, err := TIntervalWithin([]float64{0.7, math.NaN()}, 0.95, 0, 1); err != nil || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("NaN value: [%v, %v], %v; want NaN bounds", lo, hi, err)
	}
	if _, _, err := TIntervalWithin([]float64{0.7}, 0.95, 0, 1); !errors.Is(err, ErrEmpty) {
		t.Errorf("one value: %v, want ErrEmpty", err)
	}
}
