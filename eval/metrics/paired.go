package metrics

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// PairedTest is the result of a two-sided test comparing paired measurements a_i
// and b_i, such as the test AUC of two methods trained with the same seeds i.
type PairedTest struct {
	Method    string  // the test, and for Wilcoxon whether its p-value is exact
	N         int     // number of pairs
	MeanDiff  float64 // (1/N) Σ (a_i - b_i): positive when a is larger
	Statistic float64 // t for the t test, min(W+, W-) for Wilcoxon (scipy's convention)
	PValue    float64 // two-sided
}

// Method names in PairedTest.Method.
const (
	MethodPairedT       = "paired t"
	MethodWilcoxonExact = "Wilcoxon signed-rank, exact"
	MethodWilcoxonNorm  = "Wilcoxon signed-rank, normal approximation"
)

// wilcoxonExactMax is the largest number of non-zero differences for which
// WilcoxonSignedRank enumerates the exact null distribution (scipy's default too).
const wilcoxonExactMax = 50

// differences validates paired samples and returns d_i = a_i - b_i.
func differences(a, b []float64, minN int) ([]float64, error) {
	if len(a) != len(b) {
		return nil, fmt.Errorf("%w: paired samples of lengths %d and %d", ErrShape, len(a), len(b))
	}
	if len(a) < minN {
		return nil, fmt.Errorf("%w: %d pairs, need at least %d", ErrEmpty, len(a), minN)
	}
	if err := checkFinite("a", a); err != nil {
		return nil, err
	}
	if err := checkFinite("b", b); err != nil {
		return nil, err
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	return d, nil
}

// PairedTTest returns the two-sided paired t test of mean(a - b) = 0. With
// d_i = a_i - b_i, n pairs, d̄ and s_d their mean and sample standard deviation,
//
//	t = d̄ / (s_d / √n),   p = 2 · P(T_{n-1} > |t|)
//
// T_{n-1} being Student's t with n-1 degrees of freedom (scipy.stats.ttest_rel).
// When all differences are equal (s_d = 0) t is undefined; PairedTTest then gives
// t = 0 and p = 1 if they are all zero (no evidence of a difference), and t = ±Inf
// and p = 0 otherwise (the limit of the formula). Fewer than 2 pairs is ErrEmpty,
// different lengths ErrShape, NaN or ±Inf values ErrScore.
func PairedTTest(a, b []float64) (PairedTest, error) {
	d, err := differences(a, b, 2)
	if err != nil {
		return PairedTest{}, err
	}
	mean, sd := MeanSD(d)
	n := float64(len(d))
	res := PairedTest{Method: MethodPairedT, N: len(d), MeanDiff: mean}
	switch {
	case sd == 0 && mean == 0:
		res.Statistic, res.PValue = 0, 1
	case sd == 0:
		res.Statistic, res.PValue = math.Inf(int(math.Copysign(1, mean))), 0
	default:
		res.Statistic = mean / (sd / math.Sqrt(n))
		res.PValue = 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Survival(math.Abs(res.Statistic))
	}
	res.PValue = min(res.PValue, 1)
	return res, nil
}

// WilcoxonSignedRank returns the two-sided Wilcoxon signed-rank test of the
// differences d_i = a_i - b_i being symmetric about 0.
//
// Zero differences are dropped (Wilcoxon's original handling, scipy's default
// zero_method="wilcox"), leaving n' pairs. The |d_i| are ranked 1..n', tied values
// sharing the average of their ranks (ties are exact float64 equality), and
//
//	W+ = Σ_{d_i > 0} rank_i,   W- = Σ_{d_i < 0} rank_i,   W+ + W- = n'(n'+1)/2.
//
// Without ties and with n' <= 50, the p-value is exact: under the null each sign
// pattern has probability 2^-n', and
//
//	p = min(1, 2 · P(W <= min(W+, W-)))
//
// with the distribution of W = Σ_{k in S} k over uniformly random subsets S of
// {1..n'}, counted by dynamic programming. Otherwise it is the normal
// approximation without continuity correction (scipy's default), with the tie
// correction of the variance:
//
//	z = (W+ - n'(n'+1)/4) / σ,   σ² = n'(n'+1)(2n'+1)/24 - Σ_g (t_g³ - t_g)/48,
//	p = 2 · Φ(-|z|)
//
// t_g being the sizes of the groups of tied |d_i|. When all differences are
// zero, Statistic is 0 and p = 1. Method says which p-value was computed. Note
// that with n' <= 5 no exact two-sided p-value is below 0.0625. Empty input is
// ErrEmpty, different lengths ErrShape, NaN or ±Inf values ErrScore.
func WilcoxonSignedRank(a, b []float64) (PairedTest, error) {
	d, err := differences(a, b, 1)
	if err != nil {
		return PairedTest{}, err
	}
	res := PairedTest{Method: MethodWilcoxonExact, N: len(d)}
	res.MeanDiff, _ = MeanSD(d)
	nz := slices.DeleteFunc(slices.Clone(d), func(x float64) bool { return x == 0 })
	n := len(nz)
	if n == 0 {
		res.Statistic, res.PValue = 0, 1
		return res, nil
	}
	sort.Slice(nz, func(i, j int) bool { return math.Abs(nz[i]) < math.Abs(nz[j]) })
	var wPlus, tieSum float64
	ties := false
	for lo := 0; lo < n; {
		hi := lo + 1
		for hi < n && math.Abs(nz[hi]) == math.Abs(nz[lo]) {
			hi++
		}
		rank := float64(lo+1+hi) / 2 // average of ranks lo+1..hi
		for _, x := range nz[lo:hi] {
			if x > 0 {
				wPlus += rank
			}
		}
		if t := float64(hi - lo); t > 1 {
			ties = true
			tieSum += t*t*t - t
		}
		lo = hi
	}
	nf := float64(n)
	wMinus := nf*(nf+1)/2 - wPlus
	res.Statistic = min(wPlus, wMinus)
	if !ties && n <= wilcoxonExactMax {
		res.PValue = min(1, 2*signedRankCDF(n, int(res.Statistic)))
		return res, nil
	}
	res.Method = MethodWilcoxonNorm
	sigma := math.Sqrt(nf*(nf+1)*(2*nf+1)/24 - tieSum/48)
	z := (wPlus - nf*(nf+1)/4) / sigma
	res.PValue = min(1, 2*distuv.UnitNormal.CDF(-math.Abs(z)))
	return res, nil
}

// signedRankCDF returns P(W <= w) for W the sum of a uniformly random subset of
// {1..n}: count[s] = #{S : Σ S = s} by the recurrence of adding k = 1..n, each
// count below 2^50 and so exact in float64.
func signedRankCDF(n, w int) float64 {
	total := n * (n + 1) / 2
	count := make([]float64, total+1)
	count[0] = 1
	for k := 1; k <= n; k++ {
		for s := k * (k + 1) / 2; s >= k; s-- {
			count[s] += count[s-k]
		}
	}
	var c float64
	for s := 0; s <= w && s <= total; s++ {
		c += count[s]
	}
	return c / math.Exp2(float64(n))
}

// Holm returns the Holm-Bonferroni adjusted p-values of a family of m tests, in
// the input order: with p_(1) <= ... <= p_(m) sorted,
//
//	p̃_(i) = min(1, max_{j <= i} (m - j + 1) · p_(j))
//
// Rejecting the tests whose p̃ <= α controls the family-wise error rate at α
// (Holm 1979). The adjusted values are monotone in the raw ones and capped at 1.
// If any p-value is NaN or outside [0, 1] every adjusted value is NaN, since the
// family can no longer be ranked; an empty family gives an empty slice.
func Holm(pvalues []float64) []float64 {
	m := len(pvalues)
	out := make([]float64, m)
	for _, p := range pvalues {
		if !(p >= 0 && p <= 1) {
			for i := range out {
				out[i] = math.NaN()
			}
			return out
		}
	}
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pvalues[order[a]] < pvalues[order[b]] })
	running := 0.0
	for j, i := range order {
		running = max(running, min(1, float64(m-j)*pvalues[i]))
		out[i] = running
	}
	return out
}
