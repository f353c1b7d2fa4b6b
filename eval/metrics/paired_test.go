package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

func TestPairedTTest(t *testing.T) {
	// d = a - b ≈ 0.03, 0.04, -0.01; the reference uses the same float differences.
	a := []float64{0.81, 0.84, 0.79}
	b := []float64{0.78, 0.80, 0.80}
	d := []float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]}
	mean := (d[0] + d[1] + d[2]) / 3
	ss := 0.0
	for _, x := range d {
		ss += (x - mean) * (x - mean)
	}
	tStat := mean / (math.Sqrt(ss/2) / math.Sqrt(3))
	// Student t with ν = 2: CDF(x) = 1/2 + x / (2√(2 + x²)), so p = 1 - |t|/√(2 + t²).
	wantP := 1 - math.Abs(tStat)/math.Sqrt(2+tStat*tStat)
	res, err := PairedTTest(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Method != MethodPairedT || res.N != 3 || math.Abs(res.MeanDiff-mean) > 1e-15 ||
		math.Abs(res.Statistic-tStat) > 1e-9 || math.Abs(res.PValue-wantP) > 1e-9 {
		t.Errorf("PairedTTest = %+v, want t %v p %v mean %v", res, tStat, wantP, mean)
	}
	// Swapping a and b flips t, keeps p.
	if r2, _ := PairedTTest(b, a); math.Abs(r2.Statistic+res.Statistic) > 1e-12 || math.Abs(r2.PValue-res.PValue) > 1e-12 {
		t.Errorf("swapped: %+v vs %+v", r2, res)
	}

	// ν = 9 through gonum's CDF (the implementation uses the survival function).
	rng := rand.New(rand.NewPCG(9, 10))
	a, b = make([]float64, 10), make([]float64, 10)
	for i := range a {
		b[i] = rng.Float64()
		a[i] = b[i] + 0.1*rng.NormFloat64() + 0.05
	}
	res, _ = PairedTTest(a, b)
	wantP = 2 * (1 - distuv.StudentsT{Mu: 0, Sigma: 1, Nu: 9}.CDF(math.Abs(res.Statistic)))
	if math.Abs(res.PValue-wantP) > 1e-12 {
		t.Errorf("ν = 9: p = %v, want %v", res.PValue, wantP)
	}

	if r, err := PairedTTest([]float64{1, 2}, []float64{1, 2}); err != nil || r.Statistic != 0 || r.PValue != 1 {
		t.Errorf("all-zero differences: %+v, %v; want t 0, p 1", r, err)
	}
	if r, err := PairedTTest([]float64{2, 3}, []float64{1, 2}); err != nil || !math.IsInf(r.Statistic, 1) || r.PValue != 0 {
		t.Errorf("constant positive differences: %+v, %v; want t +Inf, p 0", r, err)
	}
	if _, err := PairedTTest([]float64{1}, []float64{2}); !errors.Is(err, ErrEmpty) {
		t.Errorf("one pair: %v, want ErrEmpty", err)
	}
	if _, err := PairedTTest([]float64{1, 2}, []float64{2}); !errors.Is(err, ErrShape) {
		t.Errorf("lengths: %v, want ErrShape", err)
	}
	if _, err := PairedTTest([]float64{1, math.NaN()}, []float64{2, 3}); !errors.Is(err, ErrScore) {
		t.Errorf("NaN: %v, want ErrScore", err)
	}
}

// bruteWilcoxonP enumerates all 2^n sign patterns of the ranks 1..n of tie-free,
// non-zero differences d and returns the exact two-sided p-value
// 2·min(P(W+ <= w+), P(W+ >= w+)), capped at 1.
func bruteWilcoxonP(d []float64) float64 {
	n := len(d)
	abs := make([]float64, n)
	for i, x := range d {
		abs[i] = math.Abs(x)
	}
	sorted := append([]float64(nil), abs...)
	sort.Float64s(sorted)
	wPlus := 0
	for i, x := range d {
		if x > 0 {
			wPlus += sort.SearchFloat64s(sorted, abs[i]) + 1
		}
	}
	var le, ge int
	for mask := range 1 << n {
		w := 0
		for r := 1; r <= n; r++ {
			if mask&(1<<(r-1)) != 0 {
				w += r
			}
		}
		if w <= wPlus {
			le++
		}
		if w >= wPlus {
			ge++
		}
	}
	return math.Min(1, 2*float64(min(le, ge))/float64(int(1)<<n))
}

func TestWilcoxonExact(t *testing.T) {
	zeros := make([]float64, 15)
	for _, d := range [][]float64{
		{0.5, -1.25, 2.25, 3.125, 0.75},    // n = 5
		{1, 2, 3, 4, 5},                    // n = 5, all positive: p = 2/32
		{0.25, -0.5, 1.5, -2, 2.75, 3.5},   // n = 6
		{-1, -2, -3, -4, -5, -6},           // n = 6, all negative: p = 2/64
		{0.5, -0.75, 1, -1.25, 1.5, -1.75}, // n = 6, balanced: p = 1 side
		{7},                                // n = 1: p = 1
		{6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75}, // below
	} {
		res, err := WilcoxonSignedRank(d, zeros[:len(d)])
		if err != nil {
			t.Fatal(err)
		}
		if want := bruteWilcoxonP(d); res.Method != MethodWilcoxonExact || math.Abs(res.PValue-want) > 1e-15 {
			t.Errorf("%v: %s p = %v, brute force %v", d, res.Method, res.PValue, want)
		}
	}
	// Fixed values: all 5 positive, p = 2·(1/32); all 6 negative, p = 2·(1/64).
	if r, _ := WilcoxonSignedRank([]float64{1, 2, 3, 4, 5}, zeros[:5]); r.PValue != 0.0625 || r.Statistic != 0 {
		t.Errorf("n=5 all positive: %+v, want statistic 0, p 0.0625", r)
	}
	if r, _ := WilcoxonSignedRank(zeros[:6], []float64{1, 2, 3, 4, 5, 6}); r.PValue != 0.03125 {
		t.Errorf("n=6 all negative: %+v, want p 0.03125", r)
	}
	// scipy.stats.wilcoxon doc example (Darwin's Zea mays height differences):
	// statistic 24.0, pvalue 0.041259765625 (exact).
	zea := []float64{6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75}
	if r, _ := WilcoxonSignedRank(zea, zeros); r.Statistic != 24 || math.Abs(r.PValue-0.041259765625) > 1e-15 {
		t.Errorf("Zea mays: %+v, want statistic 24 p 0.041259765625", r)
	}
	// Zero differences are dropped (Wilcoxon's method): same test as {1, -2, 3, 4, 5}.
	// W- = 2, P(W <= 2) = #{∅, {1}, {2}}/32, p = 6/32.
	r, err := WilcoxonSignedRank([]float64{1, -2, 0, 3, 4, 5, 0}, make([]float64, 7))
	if err != nil || r.PValue != 6.0/32 || r.Statistic != 2 || r.N != 7 {
		t.Errorf("zeros dropped: %+v, %v; want p 6/32, statistic 2, N 7", r, err)
	}
	if r, err := WilcoxonSignedRank([]float64{1, 2}, []float64{1, 2}); err != nil || r.PValue != 1 || r.Statistic != 0 {
		t.Errorf("all zero: %+v, %v; want p 1", r, err)
	}
}

// TestWilcoxonExactRandom compares with brute force for every n' up to 12.
func TestWilcoxonExactRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 12; n++ {
		for range 5 {
			d := make([]float64, n)
			for i := range d {
				d[i] = rng.NormFloat64() + 0.3 // continuous: no ties, no zeros
			}
			r, err := WilcoxonSignedRank(d, make([]float64, n))
			if err != nil {
				t.Fatal(err)
			}
			if want := bruteWilcoxonP(d); math.Abs(r.PValue-want) > 1e-14 {
				t.Fatalf("n=%d: p = %v, brute force %v (%v)", n, r.PValue, want, d)
			}
		}
	}
}

func TestWilcoxonNormalApproximation(t *testing.T) {
	// d = 1, 1, -1, 2, 2, 2, -3, 4, 0: the zero is dropped, n' = 8.
	// |d| ranks: the three 1s share 2, the three 2s share 5, 3 -> 7, 4 -> 8.
	// W+ = 2+2+5+5+5+8 = 27, W- = 2+7 = 9.
	// σ² = 8·9·17/24 - ((3³-3) + (3³-3))/48 = 51 - 1 = 50; z = (27 - 18)/√50.
	d := []float64{1, 1, -1, 2, 2, 2, -3, 4, 0}
	r, err := WilcoxonSignedRank(d, make([]float64, len(d)))
	if err != nil {
		t.Fatal(err)
	}
	z := 9 / math.Sqrt(50)
	wantP := math.Erfc(z / math.Sqrt2) // 2·Φ(-|z|)
	if r.Method != MethodWilcoxonNorm || r.Statistic != 9 || math.Abs(r.PValue-wantP) > 1e-12 {
		t.Errorf("ties: %+v, want normal approximation, statistic 9, p %v", r, wantP)
	}

	// 60 tie-free differences: beyond the exact range, normal without tie term.
	rng := rand.New(rand.NewPCG(13, 14))
	d = make([]float64, 60)
	for i := range d {
		d[i] = rng.NormFloat64() + 0.2
	}
	r, _ = WilcoxonSignedRank(d, make([]float64, 60))
	abs := make([]float64, 60)
	for i := range d {
		abs[i] = math.Abs(d[i])
	}
	wPlus := 0.0
	for i := range d { // rank = 1 + #{j: |d_j| < |d_i|}
		if d[i] > 0 {
			rank := 1.0
			for j := range d {
				if abs[j] < abs[i] {
					rank++
				}
			}
			wPlus += rank
		}
	}
	z = (wPlus - 60*61/4.0) / math.Sqrt(60*61*121/24.0)
	if wantP := math.Erfc(math.Abs(z) / math.Sqrt2); r.Method != MethodWilcoxonNorm || math.Abs(r.PValue-wantP) > 1e-12 ||
		r.Statistic != math.Min(wPlus, 60*61/2-wPlus) {
		t.Errorf("n=60: %+v, want p %v, W+ %v", r, wantP, wPlus)
	}
	if _, err := WilcoxonSignedRank(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v, want ErrEmpty", err)
	}
}

func TestHolm(t *testing.T) {
	for _, tc := range []struct{ p, want []float64 }{
		// Sorted 0.005, 0.01, 0.03, 0.04 -> 4·.005, 3·.01, 2·.03, max(.06, 1·.04).
		{[]float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		// R's p.adjust(c(.01, .02, .03, .04, .05), "holm") = .05 .08 .09 .09 .09.
		{[]float64{0.01, 0.02, 0.03, 0.04, 0.05}, []float64{0.05, 0.08, 0.09, 0.09, 0.09}},
		// Capped at 1.
		{[]float64{0.6, 0.5}, []float64{1, 1}},
		{[]float64{0.2}, []float64{0.2}},
		{[]float64{}, []float64{}},
	} {
		got := Holm(tc.p)
		if len(got) != len(tc.want) {
			t.Fatalf("Holm(%v) = %v, want %v", tc.p, got, tc.want)
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-15 {
				t.Errorf("Holm(%v) = %v, want %v", tc.p, got, tc.want)
				break
			}
		}
	}
	for _, bad := range [][]float64{{0.01, math.NaN()}, {0.01, 1.5}, {-0.1, 0.2}} {
		for _, v := range Holm(bad) {
			if !math.IsNaN(v) {
				t.Errorf("Holm(%v) = %v, want all NaN", bad, Holm(bad))
				break
			}
		}
	}
}

// TestHolmStepDown checks that thresholding the adjusted p-values at α rejects
// exactly what Holm's step-down procedure rejects: walk the sorted p-values and
// reject p_(j) while p_(j) <= α/(m-j+1), stopping at the first failure.
func TestHolmStepDown(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for range 200 {
		m := 1 + rng.IntN(8)
		p := make([]float64, m)
		for i := range p {
			p[i] = math.Round(rng.Float64()*rng.Float64()*100) / 1000 // ties happen
		}
		adj := Holm(p)
		order := make([]int, m)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return p[order[a]] < p[order[b]] })
		for _, alpha := range []float64{0.01, 0.02, 0.05, 0.1} {
			rejected := make([]bool, m)
			for j, i := range order {
				if p[i] > alpha/float64(m-j) {
					break
				}
				rejected[i] = true
			}
			for i := range p {
				if (adj[i] <= alpha) != rejected[i] {
					t.Fatalf("p %v adjusted %v: at α %v test %d rejected %v by step-down", p, adj, alpha, i, rejected[i])
				}
			}
		}
	}
}
