package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// meanOf returns the statistic "mean of xs over the resampled indices".
func meanOf(xs []float64) func(idx []int) float64 {
	return func(idx []int) float64 {
		var s float64
		for _, i := range idx {
			s += xs[i]
		}
		return s / float64(len(idx))
	}
}

func normalSample(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 1))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	return xs
}

func TestBootstrapMean(t *testing.T) {
	xs := normalSample(200, 1)
	lo, hi, err := Bootstrap(len(xs), meanOf(xs), 2000, 0.95, 42)
	if err != nil {
		t.Fatal(err)
	}
	lo2, hi2, _ := Bootstrap(len(xs), meanOf(xs), 2000, 0.95, 42)
	if lo != lo2 || hi != hi2 {
		t.Errorf("same seed gave [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
	if lo3, hi3, _ := Bootstrap(len(xs), meanOf(xs), 2000, 0.95, 43); lo3 == lo && hi3 == hi {
		t.Errorf("seeds 42 and 43 gave the same interval [%v, %v]", lo, hi)
	}
	mean, sd := MeanSD(xs)
	if !(lo < mean && mean < hi) {
		t.Errorf("interval [%v, %v] misses the sample mean %v", lo, hi, mean)
	}
	// For a mean the percentile interval approaches mean ± z_{.975}·s/√n with
	// z_{.975} = 1.959964 (the bootstrap sd uses the 1/n variance; 200/199 ≈ 1).
	want := 2 * 1.959964 * sd / math.Sqrt(float64(len(xs)))
	if w := hi - lo; math.Abs(w/want-1) > 0.1 {
		t.Errorf("width %v, normal theory %v", w, want)
	}
	// Four times the data: about half the width.
	big := normalSample(800, 2)
	blo, bhi, _ := Bootstrap(len(big), meanOf(big), 2000, 0.95, 42)
	if r := (bhi - blo) / (hi - lo); r < 0.4 || r > 0.6 {
		t.Errorf("width ratio n=800 vs n=200 = %v, want about 0.5", r)
	}
	// A higher level gives a wider interval from the same replicates.
	if l99, h99, _ := Bootstrap(len(xs), meanOf(xs), 2000, 0.99, 42); !(l99 <= lo && h99 >= hi) {
		t.Errorf("99%% interval [%v, %v] inside 95%% [%v, %v]", l99, h99, lo, hi)
	}
}

// TestBootstrapQuantiles checks the percentile rule on a statistic whose
// replicate values are known: the replicate number itself, 1..100.
func TestBootstrapQuantiles(t *testing.T) {
	r := 0.0
	count := func([]int) float64 { r++; return r }
	lo, hi, err := Bootstrap(5, count, 100, 0.90, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Empirical quantile: smallest value v with v >= p·100 -> 5 and 95.
	if lo != 5 || hi != 95 {
		t.Errorf("percentiles of 1..100 at 90%%: [%v, %v], want [5, 95]", lo, hi)
	}
}

func TestBootstrapStratified(t *testing.T) {
	// 19 negatives and 1 positive: plain resamples often lack the positive and the
	// AUC is then undefined; stratified resamples always keep it.
	n := 20
	score := make([]float64, n)
	pos := make([]bool, n)
	strata := make([]int, n)
	for i := range score {
		score[i] = float64(i) / float64(n)
	}
	pos[15], strata[15] = true, 1
	auc := func(idx []int) float64 {
		s := make([]float64, len(idx))
		p := make([]bool, len(idx))
		for j, i := range idx {
			s[j], p[j] = score[i], pos[i]
		}
		a, _ := ROCAUC(s, p)
		return a
	}
	if _, _, err := Bootstrap(n, auc, 200, 0.95, 1); !errors.Is(err, ErrScore) {
		t.Errorf("plain bootstrap of an AUC with 1 positive: %v, want ErrScore", err)
	}
	checked := false
	counting := func(idx []int) float64 {
		if len(idx) != n {
			t.Fatalf("got %d indices, want %d", len(idx), n)
		}
		// Group 0 (first seen) comes first: 19 negatives, then the positive.
		for j, i := range idx {
			if (j < 19) != (strata[i] == 0) {
				t.Fatalf("index %d at position %d breaks the strata: %v", i, j, idx)
			}
		}
		checked = true
		return auc(idx)
	}
	lo, hi, err := BootstrapStratified(strata, counting, 200, 0.95, 1)
	if err != nil || !checked {
		t.Fatal(err)
	}
	full, _ := ROCAUC(score, pos)
	if !(lo <= full && full <= hi) || hi > 1 || lo < 0 {
		t.Errorf("stratified interval [%v, %v], full-sample AUC %v", lo, hi, full)
	}
	lo2, hi2, _ := BootstrapStratified(strata, auc, 200, 0.95, 1)
	if lo2 != lo || hi2 != hi {
		t.Errorf("same seed gave [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
}

func TestBootstrapErrors(t *testing.T) {
	f := func([]int) float64 { return 1 }
	for name, tc := range map[string]struct {
		n, reps int
		level   float64
		stat    func([]int) float64
		want    error
	}{
		"n=0":       {0, 10, 0.95, f, ErrEmpty},
		"reps=0":    {5, 0, 0.95, f, ErrParam},
		"level=1":   {5, 10, 1, f, ErrParam},
		"nil stat":  {5, 10, 0.95, nil, ErrParam},
		"NaN stat":  {5, 10, 0.95, func([]int) float64 { return math.NaN() }, ErrScore},
		"level NaN": {5, 10, math.NaN(), f, ErrParam},
	} {
		if _, _, err := Bootstrap(tc.n, tc.stat, tc.reps, tc.level, 1); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, _, err := BootstrapStratified(nil, f, 10, 0.95, 1); !errors.Is(err, ErrEmpty) {
		t.Errorf("stratified, empty: %v, want ErrEmpty", err)
	}
}
