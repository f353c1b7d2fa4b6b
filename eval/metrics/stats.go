package metrics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanSD returns the mean and the sample standard deviation (n-1 denominator) of
// xs, typically one metric over the seeds of an experiment:
//
//	mean = (1/n) Σ x_i,   sd = √( Σ (x_i - mean)² / (n - 1) )
//
// sd is NaN when n < 2 and both are NaN when xs is empty. A NaN value (an
// undefined metric in one run) makes both NaN.
func MeanSD(xs []float64) (mean, sd float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	if len(xs) == 1 {
		return xs[0], math.NaN()
	}
	return stat.MeanStdDev(xs, nil)
}

// TInterval returns the two-sided Student t confidence interval, at the given
// level (e.g. 0.95), of the mean of xs, assumed an i.i.d. normal sample such as
// one metric over independent seeds:
//
//	mean ± t_{n-1, (1+level)/2} · sd / √n
//
// where t_{ν,q} is the q quantile of Student's t with ν degrees of freedom and sd
// is the sample standard deviation of MeanSD. With few seeds the interval is
// wide on purpose: t_{2,0.975} ≈ 4.30 for 3 seeds. Fewer than 2 values is an
// ErrEmpty error; a level outside (0, 1) is ErrParam. NaN values give NaN bounds.
func TInterval(xs []float64, level float64) (lo, hi float64, err error) {
	if len(xs) < 2 {
		return 0, 0, fmt.Errorf("%w: t interval of %d values, need at least 2", ErrEmpty, len(xs))
	}
	if err := checkLevel(level); err != nil {
		return 0, 0, err
	}
	mean, sd := MeanSD(xs)
	n := float64(len(xs))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile((1 + level) / 2)
	half := t * sd / math.Sqrt(n)
	return mean - half, mean + half, nil
}

// TIntervalWithin is TInterval intersected with [min, max], the range a metric cannot
// leave (for AUC, accuracy, balanced accuracy and Dice, [0, 1]): the plain t-interval of
// 0.594 ± 0.248 over 3 seeds, [-0.022, 1.210], becomes [0, 1]. Because the true mean lies
// in [min, max], the intersection covers it exactly as often as the t-interval does (under
// the same normal model), and the mean of xs always lies inside it. Errors are TInterval's;
// a value outside [min, max] is ErrScore.
func TIntervalWithin(xs []float64, level, min, max float64) (lo, hi float64, err error) {
	for _, x := range xs {
		if x < min || x > max {
			return 0, 0, fmt.Errorf("%w: value %v outside the metric's range [%v, %v]", ErrScore, x, min, max)
		}
	}
	lo, hi, err = TInterval(xs, level)
	if err != nil {
		return 0, 0, err
	}
	if lo < min {
		lo = min
	}
	if hi > max {
		hi = max
	}
	return lo, hi, nil
}
