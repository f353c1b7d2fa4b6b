package metrics_test

import (
	"fmt"

	"github.com/medssl/medssl/eval/metrics"
)

// Two methods evaluated with the same five seeds: the mean and its t interval
// per method, then paired tests of the difference. With five pairs the exact
// Wilcoxon p-value cannot go below 2/2⁵ = 0.0625, whatever the effect; here the
// differences are .02 .05 -.01 .04 .06, W- = 1 and p = 2·P(W <= 1) = 2·2/32.
func ExampleWilcoxonSignedRank() {
	simclr := []float64{0.86, 0.88, 0.85, 0.89, 0.87}
	supervised := []float64{0.84, 0.83, 0.86, 0.85, 0.81}
	for _, arm := range []struct {
		name string
		auc  []float64
	}{{"simclr", simclr}, {"supervised", supervised}} {
		mean, sd := metrics.MeanSD(arm.auc)
		lo, hi, _ := metrics.TInterval(arm.auc, 0.95)
		fmt.Printf("%-10s %.3f ± %.3f, 95%% CI [%.3f, %.3f]\n", arm.name, mean, sd, lo, hi)
	}
	t, _ := metrics.PairedTTest(simclr, supervised)
	w, _ := metrics.WilcoxonSignedRank(simclr, supervised)
	fmt.Printf("%s: diff %.3f t %.2f p %.4f\n", t.Method, t.MeanDiff, t.Statistic, t.PValue)
	fmt.Printf("%s: W %.0f p %.4f\n", w.Method, w.Statistic, w.PValue)
	fmt.Printf("Holm: %.4f\n", metrics.Holm([]float64{t.PValue, 0.04, 0.30}))
	// Output:
	// simclr     0.870 ± 0.016, 95% CI [0.850, 0.890]
	// supervised 0.838 ± 0.019, 95% CI [0.814, 0.862]
	// paired t: diff 0.032 t 2.58 p 0.0614
	// Wilcoxon signed-rank, exact: W 1 p 0.1250
	// Holm: [0.1228 0.1200 0.3000]
}

// A percentile bootstrap interval of the test-set AUC, resampling within each
// class so that every resample keeps both classes.
func ExampleBootstrapStratified() {
	labels := []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 1}
	scores := []float64{0.1, 0.3, 0.2, 0.6, 0.4, 0.05, 0.7, 0.35, 0.9, 0.8}
	auc := func(idx []int) float64 {
		s := make([]float64, len(idx))
		pos := make([]bool, len(idx))
		for j, i := range idx {
			s[j], pos[j] = scores[i], labels[i] == 1
		}
		a, _ := metrics.ROCAUC(s, pos)
		return a
	}
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	lo, hi, err := metrics.BootstrapStratified(labels, auc, 2000, 0.95, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AUC %.3f, 95%% bootstrap CI [%.3f, %.3f]\n", auc(all), lo, hi)
	// Output:
	// AUC 0.917, 95% bootstrap CI [0.667, 1.000]
}
