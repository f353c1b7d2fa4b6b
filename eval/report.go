package eval

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
)

// Row is one run of an experiment: an arm (e.g. "simclr+linear", "simclr+finetune",
// "supervised") trained on a fraction of the labels with one seed, and its test metrics.
type Row struct {
	Arm      string             // name of the method/protocol, non-empty
	Fraction float64            // label fraction in (0, 1]
	Seed     int64              // random seed of the run
	Metrics  map[string]float64 // keyed by the Metric* names (Metrics.Map); NaN allowed, ±Inf not

	// Optional bookkeeping; zero means not recorded.
	WallTime  time.Duration // wall time of the run, >= 0
	Epochs    int           // epochs run, >= 0
	BestEpoch int           // 1-based epoch of the selected model, 0 <= BestEpoch <= Epochs when Epochs > 0
}

// Summary aggregates the rows of one (arm, label fraction) group.
type Summary struct {
	Arm      string
	Fraction float64
	N        int // number of runs (seeds)
	// Mean and Std are keyed by SummaryMetrics. Std is the sample standard deviation
	// (n-1 denominator), NaN when N == 1. A NaN metric in any run, or a metric a run
	// lacks, makes that metric's mean and std NaN.
	Mean, Std map[string]float64
}

// SummaryMetrics lists the metrics a Summary aggregates, in table order.
func SummaryMetrics() []string {
	return []string{MetricAUC, MetricACC, MetricBalancedACC}
}

// Report collects the rows of an experiment. The zero value is ready to use.
type Report struct {
	rows []Row
}

// Add validates rows and appends copies of them. A row whose (arm, fraction,
// seed) is already in the report is rejected: it would silently count one run
// twice in the summary.
func (r *Report) Add(rows ...Row) error {
	for _, row := range rows {
		if err := row.validate(); err != nil {
			return err
		}
		for _, old := range r.rows {
			if old.Arm == row.Arm && old.Fraction == row.Fraction && old.Seed == row.Seed {
				return fmt.Errorf("eval: report: duplicate run arm %q fraction %v seed %d", row.Arm, row.Fraction, row.Seed)
			}
		}
		row.Metrics = maps.Clone(row.Metrics)
		r.rows = append(r.rows, row)
	}
	return nil
}

func (row Row) validate() error {
	id := fmt.Sprintf("arm %q fraction %v seed %d", row.Arm, row.Fraction, row.Seed)
	switch {
	case row.Arm == "":
		return fmt.Errorf("eval: report: row with empty arm (fraction %v seed %d)", row.Fraction, row.Seed)
	case !(row.Fraction > 0 && row.Fraction <= 1):
		return fmt.Errorf("eval: report: %s: label fraction must be in (0, 1]", id)
	case row.WallTime < 0 || row.Epochs < 0 || row.BestEpoch < 0:
		return fmt.Errorf("eval: report: %s: negative wall time or epochs", id)
	case row.Epochs > 0 && row.BestEpoch > row.Epochs:
		return fmt.Errorf("eval: report: %s: best epoch %d after last epoch %d", id, row.BestEpoch, row.Epochs)
	}
	for name, v := range row.Metrics {
		if name == "" || strings.ContainsAny(name, ",\"\n\r") {
			return fmt.Errorf("eval: report: %s: bad metric name %q", id, name)
		}
		if math.IsInf(v, 0) {
			return fmt.Errorf("eval: report: %s: metric %q is %v", id, name, v)
		}
	}
	return nil
}

// Rows returns copies of the rows sorted by label fraction, then arm, then seed.
func (r *Report) Rows() []Row {
	out := make([]Row, len(r.rows))
	for i, row := range r.rows {
		row.Metrics = maps.Clone(row.Metrics)
		out[i] = row
	}
	slices.SortStableFunc(out, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Fraction, b.Fraction), strings.Compare(a.Arm, b.Arm), cmp.Compare(a.Seed, b.Seed))
	})
	return out
}

// Summary groups the rows by (arm, label fraction), sorted by fraction then arm,
// and gives for each of SummaryMetrics
//
//	mean = (1/n) Σ_i x_i,   std = sqrt( Σ_i (x_i - mean)² / (n-1) )
//
// computed with gonum's stat.MeanStdDev.
func (r *Report) Summary() []Summary {
	var out []Summary
	rows := r.Rows()
	for lo := 0; lo < len(rows); {
		hi := lo + 1
		for hi < len(rows) && rows[hi].Arm == rows[lo].Arm && rows[hi].Fraction == rows[lo].Fraction {
			hi++
		}
		s := Summary{Arm: rows[lo].Arm, Fraction: rows[lo].Fraction, N: hi - lo,
			Mean: map[string]float64{}, Std: map[string]float64{}}
		xs := make([]float64, 0, hi-lo)
		for _, name := range SummaryMetrics() {
			xs = xs[:0]
			for _, row := range rows[lo:hi] {
				v, ok := row.Metrics[name]
				if !ok {
					v = math.NaN()
				}
				xs = append(xs, v)
			}
			s.Mean[name], s.Std[name] = stat.MeanStdDev(xs, nil)
		}
		out = append(out, s)
		lo = hi
	}
	return out
}

// metricNames returns the metric names used by any row: the standard ones first
// (auc, acc, balanced_acc, macro_f1), then the others by name with a numeric
// suffix compared as a number (sensitivity_2 before sensitivity_10).
func (r *Report) metricNames() []string {
	seen := map[string]bool{}
	for _, row := range r.rows {
		for name := range row.Metrics {
			seen[name] = true
		}
	}
	var out []string
	for _, name := range []string{MetricAUC, MetricACC, MetricBalancedACC, MetricMacroF1} {
		if seen[name] {
			out = append(out, name)
			delete(seen, name)
		}
	}
	rest := slices.Collect(maps.Keys(seen))
	slices.SortFunc(rest, compareNames)
	return append(out, rest...)
}

// compareNames orders names by the tuple (stem, number, name), where a name
// "stem_n" with an integer n splits into stem and n, and any other name is its
// own stem with number -1. Lexicographic on a tuple, so it is a total order.
func compareNames(a, b string) int {
	pa, na := splitSuffix(a)
	pb, nb := splitSuffix(b)
	return cmp.Or(strings.Compare(pa, pb), cmp.Compare(na, nb), strings.Compare(a, b))
}

func splitSuffix(s string) (string, int) {
	if i := strings.LastIndexByte(s, '_'); i >= 0 {
		if n, err := strconv.Atoi(s[i+1:]); err == nil && n >= 0 {
			return s[:i], n
		}
	}
	return s, -1
}
