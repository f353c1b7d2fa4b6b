package metrics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// bootstrapStream is the second PCG word; the seed argument is the first.
const bootstrapStream = 0x6d656473736c // "medssl"

// Bootstrap returns the percentile bootstrap confidence interval, at the given
// level (e.g. 0.95), of a statistic of n test examples (Efron & Tibshirani 1993,
// ch. 13). Each of reps replicates draws n indices uniformly from [0, n) with
// replacement and evaluates statistic on them; the interval is
//
//	[ q_{(1-level)/2}, q_{(1+level)/2} ]
//
// of the replicate values, q_p being the empirical quantile (gonum stat.Empirical:
// the smallest replicate whose rank r satisfies r >= p·reps). The draws come
// from a PCG generator seeded with seed, so equal arguments give equal intervals.
// The interval reflects the test-set sampling variance only, not the variance over
// training seeds (see TInterval for that); 1000 to 10000 replicates are usual.
//
// statistic receives the resampled indices, in a slice that Bootstrap reuses
// between calls: read it, do not keep it. A NaN statistic on some replicate
// (a metric undefined on that resample, such as the AUC of a resample holding a
// single class) is an ErrScore error rather than a silently conditioned interval;
// BootstrapStratified avoids it for per-class metrics. n < 1 is ErrEmpty; a nil
// statistic, reps < 1 or a level outside (0, 1) is ErrParam.
func Bootstrap(n int, statistic func(idx []int) float64, reps int, level float64, seed int64) (lo, hi float64, err error) {
	if n < 1 {
		return 0, 0, fmt.Errorf("%w: bootstrap over %d examples", ErrEmpty, n)
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return bootstrap([][]int{all}, n, statistic, reps, level, seed)
}

// BootstrapStratified is Bootstrap resampling within strata: strata[i] is the
// group (usually the class label) of example i, and each replicate draws, for
// every group of size m, m of its examples with replacement. Group sizes, and so
// the class balance, are the same in every replicate, which keeps per-class
// metrics such as AUC defined. The indices passed to statistic are ordered by
// group, groups in order of first appearance in strata. Errors are Bootstrap's.
func BootstrapStratified(strata []int, statistic func(idx []int) float64, reps int, level float64, seed int64) (lo, hi float64, err error) {
	if len(strata) == 0 {
		return 0, 0, fmt.Errorf("%w: bootstrap over 0 examples", ErrEmpty)
	}
	var groups [][]int
	pos := map[int]int{}
	for i, s := range strata {
		g, ok := pos[s]
		if !ok {
			g = len(groups)
			pos[s] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return bootstrap(groups, len(strata), statistic, reps, level, seed)
}

// bootstrap draws, in every replicate, len(g) indices from each group g.
func bootstrap(groups [][]int, n int, statistic func(idx []int) float64, reps int, level float64, seed int64) (lo, hi float64, err error) {
	if statistic == nil {
		return 0, 0, fmt.Errorf("%w: nil bootstrap statistic", ErrParam)
	}
	if reps < 1 {
		return 0, 0, fmt.Errorf("%w: %d bootstrap replicates, want >= 1", ErrParam, reps)
	}
	if err := checkLevel(level); err != nil {
		return 0, 0, err
	}
	rng := rand.New(rand.NewPCG(uint64(seed), bootstrapStream))
	idx := make([]int, n)
	vals := make([]float64, reps)
	for r := range vals {
		j := 0
		for _, g := range groups {
			for range g {
				idx[j] = g[rng.IntN(len(g))]
				j++
			}
		}
		v := statistic(idx)
		if math.IsNaN(v) {
			return 0, 0, fmt.Errorf("%w: bootstrap statistic is NaN on replicate %d of %d (undefined on a resample; for per-class metrics use BootstrapStratified)", ErrScore, r+1, reps)
		}
		vals[r] = v
	}
	slices.Sort(vals)
	lo = stat.Quantile((1-level)/2, stat.Empirical, vals, nil)
	hi = stat.Quantile((1+level)/2, stat.Empirical, vals, nil)
	return lo, hi, nil
}
