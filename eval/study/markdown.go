package study

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
)

// ReportMetric is a metric the Markdown report tabulates, with the range its values lie in
// (Min, Max): its intervals over seeds are t-intervals cut to that range
// (metrics.TIntervalWithin).
type ReportMetric struct {
	Name, Title string
	Min, Max    float64
}

// unit is the range of the scores and overlaps: AUC, accuracies, Dice, IoU.
var unit = ReportMetric{Min: 0, Max: 1}

// ReportMetrics are the metrics the Markdown report tabulates for classification; the
// first is the primary one (paired tests, intervals, label-efficiency plots).
var ReportMetrics = []ReportMetric{
	{metrics.MetricAUC, "AUC", 0, 1},
	{metrics.MetricACC, "Accuracy", 0, 1},
	{metrics.MetricBalancedACC, "Balanced accuracy", 0, 1},
}

// SegmentationReportMetrics are the metrics of segmentation studies (foreground means over
// test volumes in 3D); Dice is the primary one.
var SegmentationReportMetrics = []ReportMetric{
	{metrics.MetricDice, "Dice", 0, 1},
	{metrics.MetricIoU, "IoU", 0, 1},
	{metrics.MetricHD95, "HD95 (mm, volumes where finite; lower is better)", 0, math.Inf(1)},
}

// reportMetrics returns the metrics results are tabulated with: SegmentationReportMetrics
// when they are segmentation results (they have a Dice), else ReportMetrics.
func reportMetrics(results []Result) []ReportMetric {
	for _, r := range results {
		if _, ok := r.Metrics[metrics.MetricDice]; ok {
			return SegmentationReportMetrics
		}
	}
	return ReportMetrics
}

// metricTitle names a metric in sentences: "AUC", "Dice".
func metricTitle(name string) string {
	switch name {
	case metrics.MetricDice:
		return "Dice"
	case metrics.MetricAUC:
		return "AUC"
	}
	return name
}

// IntervalMethod states how the report's intervals over seeds are computed.
const IntervalMethod = "the 95% Student t interval of the mean over seeds, intersected with the metric's range ([0, 1] for scores and overlaps, [0, ∞) for distances: the true mean cannot leave it, so the cut interval covers it as often as the whole one)"

// seedInterval is the 95% interval of the mean of xs, a metric in m's range (see
// IntervalMethod).
func seedInterval(xs []float64, m ReportMetric) (lo, hi float64, err error) {
	return metrics.TIntervalWithin(xs, 0.95, m.Min, m.Max)
}

// Alpha is the family-wise significance level of the report's comparisons.
const Alpha = 0.05

// Comparison is one paired comparison of an arm against the supervised baseline at one
// (label fraction, imbalance), on one test set, over the replicates (seeds, and folds
// under cross-validation) both have finished.
type Comparison struct {
	// Label is the arm compared, e.g. "simclr+finetune"; Baseline the supervised arm it is
	// compared with (Cell.Baseline: the one with the same remedy).
	Label, Baseline string
	Metric          string
	// TestSet is InternalTest or an external test set's name.
	TestSet             string
	Fraction, Imbalance float64
	Pairs               []Replicate
	T, Wilcoxon         metrics.PairedTest // a = arm, b = baseline: MeanDiff > 0 means the arm is better
	// HolmT and HolmWilcoxon are the p-values Holm-corrected across all comparisons of
	// the report (each test family on its own); NaN when the test could not run.
	HolmT, HolmWilcoxon float64
	Err                 string // why the tests could not run (too few pairs, all differences 0)
}

// Significant tells whether the Holm-corrected paired t p-value is below Alpha.
func (c Comparison) Significant() bool { return c.HolmT < Alpha }

// Compare pairs, at every (fraction, imbalance) and on every test set (the internal one,
// then the external ones), each non-supervised arm with the supervised baseline over their
// common replicates (seed, and fold under cross-validation), on metric, and runs a paired
// t test and a Wilcoxon signed-rank test on the differences; the p-values of each test are
// then Holm-corrected across all the comparisons returned.
func Compare(results []Result, metric string) []Comparison {
	type key struct {
		label     string
		test      string
		frac, imb float64
	}
	byRep := map[key]map[Replicate]float64{}
	baseline := map[string]string{}
	var keys []key
	for _, test := range testSets(results) {
		for _, r := range results {
			tr, ok := r.Test(test)
			if !ok {
				continue
			}
			k := key{r.Label, test, r.Fraction, r.Imbalance}
			if byRep[k] == nil {
				byRep[k] = map[Replicate]float64{}
				keys = append(keys, k)
			}
			baseline[r.Label] = r.Cell.Baseline()
			v, ok := tr.Metrics[metric]
			if !ok {
				v = math.NaN()
			}
			byRep[k][r.Replicate()] = v
		}
	}
	var out []Comparison
	for _, k := range keys {
		if baseline[k.label] == "" {
			continue
		}
		base := byRep[key{baseline[k.label], k.test, k.frac, k.imb}]
		if base == nil {
			continue
		}
		c := Comparison{Label: k.label, Baseline: baseline[k.label], Metric: metric, TestSet: k.test, Fraction: k.frac, Imbalance: k.imb,
			HolmT: math.NaN(), HolmWilcoxon: math.NaN()}
		var a, b []float64
		for rep := range byRep[k] {
			if _, ok := base[rep]; ok {
				c.Pairs = append(c.Pairs, rep)
			}
		}
		slices.SortFunc(c.Pairs, func(x, y Replicate) int { return cmp.Or(cmp.Compare(x.Seed, y.Seed), cmp.Compare(x.Fold, y.Fold)) })
		for _, rep := range c.Pairs {
			a, b = append(a, byRep[k][rep]), append(b, base[rep])
		}
		var err error
		if c.T, err = metrics.PairedTTest(a, b); err != nil {
			// No test, but the difference is still worth reading (NaN with no pair).
			diffs := make([]float64, len(a))
			for i := range a {
				diffs[i] = a[i] - b[i]
			}
			c.T.PValue, c.Err, c.T.MeanDiff = math.NaN(), err.Error(), mean(diffs)
		}
		if c.Wilcoxon, err = metrics.WilcoxonSignedRank(a, b); err != nil {
			c.Wilcoxon.PValue = math.NaN()
			if c.Err == "" {
				c.Err = err.Error()
			}
		}
		c.T.N, c.Wilcoxon.N = len(a), len(a)
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(x, y Comparison) int {
		return cmp.Or(cmp.Compare(x.Fraction, y.Fraction), cmp.Compare(x.Imbalance, y.Imbalance))
	})
	holm(out, func(c *Comparison) (*float64, *float64) { return &c.T.PValue, &c.HolmT })
	holm(out, func(c *Comparison) (*float64, *float64) { return &c.Wilcoxon.PValue, &c.HolmWilcoxon })
	return out
}

// testSets lists the test sets results were scored on: InternalTest, then the external
// ones in order of appearance.
func testSets(results []Result) []string {
	names := []string{InternalTest}
	for _, r := range results {
		for _, t := range r.External {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return names
}

// testSetTitle names a test set in the report.
func testSetTitle(name string) string {
	if name == InternalTest {
		return "internal test split"
	}
	return "external test set " + name
}

// holm Holm-corrects the valid raw p-values of cs (NaN ones stay out of the family).
func holm(cs []Comparison, field func(*Comparison) (raw, adj *float64)) {
	var idx []int
	var ps []float64
	for i := range cs {
		raw, _ := field(&cs[i])
		if *raw >= 0 && *raw <= 1 {
			idx, ps = append(idx, i), append(ps, *raw)
		}
	}
	for j, p := range metrics.Holm(ps) {
		_, adj := field(&cs[idx[j]])
		*adj = p
	}
}

// MarkdownOptions add context to the Markdown report.
type MarkdownOptions struct {
	Title string
	// Settings and Machine are printed as they are (one paragraph each); Study.Markdown
	// fills them from the study's Config when empty.
	Settings, Machine string
	// PerCell adds a table of every cell's test AUC with its bootstrap interval.
	PerCell bool
	// Figures are image paths (relative to the report) shown at the end.
	Figures []string
	// Warnings are problems of the data listed under the report's header (Study.Warnings).
	Warnings []string
	// LabelNames name the labels of a multi-label task in its per-label table
	// (Study.Markdown takes them from the dataset when it has names).
	LabelNames []string
}

// Markdown writes the study's report: see WriteMarkdown.
func (s *Study) Markdown(w io.Writer, opt MarkdownOptions) error {
	if opt.Settings == "" {
		opt.Settings = s.Config.Describe()
	}
	if opt.Machine == "" {
		opt.Machine = Machine(s.Config.Backend.Name())
	}
	if opt.Title == "" {
		opt.Title = fmt.Sprintf("Self-supervised vs supervised on %s", s.Config.dataName())
	}
	opt.Warnings = append(opt.Warnings, s.Warnings...)
	if opt.LabelNames == nil && s.Config.Dataset != nil {
		opt.LabelNames = s.Config.Dataset.Classes
	}
	return WriteMarkdown(w, s.Results, opt)
}

// Machine describes the machine and backend a study ran on, for reports.
func Machine(backend string) string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s, GoMLX backend %q", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), backend)
}

// WriteMarkdown writes a report a researcher can paste into a paper: for each of
// ReportMetrics, a table with a row per (label fraction, imbalance) and a column per arm,
// each cell "mean ± sd [95% interval of the mean]" over seeds (IntervalMethod); then the paired
// comparisons of every arm with the supervised baseline on AUC (Compare), as a table and as
// plain sentences; then the settings and machine.
func WriteMarkdown(w io.Writer, results []Result, opt MarkdownOptions) error {
	var b strings.Builder
	title := opt.Title
	if title == "" {
		title = "Self-supervised vs supervised study"
	}
	fmt.Fprintf(&b, "# %s\n\n", title)
	arms, rows := layout(results)
	seeds, reps := map[int64]bool{}, map[Replicate]bool{}
	folds := 0
	for _, r := range results {
		seeds[r.Seed], reps[r.Replicate()] = true, true
		folds = max(folds, r.Fold)
	}
	tests := testSets(results)
	if folds == 0 {
		fmt.Fprintf(&b, "%d finished cells, %d seeds. Each entry is mean ± SD over seeds, then in brackets %s; n is the number of seeds when it differs from the rest. Models were selected on the validation split only; the test sets were never used for training or selection.\n\n",
			len(results), len(seeds), IntervalMethod)
	} else {
		fmt.Fprintf(&b, "%d finished cells, %d seeds × %d-fold cross-validation (the training and validation splits together, cut into folds by patient and stratified by label, anew for each seed; each fold's model is selected on that fold and scored on the untouched test sets). Each entry is mean ± SD over the %d (seed, fold) replicates, then in brackets %s; n is the number of replicates when it differs from the rest.\n\n",
			len(results), len(seeds), folds, len(reps), strings.ReplaceAll(IntervalMethod, "over seeds", "over replicates"))
	}
	if len(tests) > 1 {
		fmt.Fprintf(&b, "Test sets: the internal test split and the external test set%s %s, each a row of the tables below.\n\n", plural(len(tests)-1), strings.Join(tests[1:], ", "))
	}
	if len(opt.Warnings) > 0 {
		b.WriteString("**Warnings about the data:**\n\n")
		for _, w := range opt.Warnings {
			b.WriteString("- " + w + "\n")
		}
		b.WriteString("\n")
	}
	for _, m := range reportMetrics(results) {
		fmt.Fprintf(&b, "## %s\n\n", m.Title)
		writeTable(&b, results, arms, rows, tests, m, len(reps))
		b.WriteString("\n")
	}

	if labels := labelCount(results); labels > 0 {
		b.WriteString("## AUC per label (internal test split)\n\n")
		b.WriteString("A multi-label task: the AUC above is the mean of these per-label AUCs over the labels with both classes in the test split (MedMNIST's definition); a label without a positive test image has none (–).\n\n")
		writeLabelTable(&b, results, labelsOf(results), rows, labels, opt.LabelNames, len(reps))
		b.WriteString("\n")
	}

	primary := reportMetrics(results)[0]
	primaryTitle := metricTitle(primary.Name)
	comps := Compare(results, primary.Name)
	if len(comps) > 0 {
		fmt.Fprintf(&b, "## Arms against the supervised baseline (%s)\n\n", primaryTitle)
		pairing := "Paired over seeds (a seed fixes the labelled subset and the initialisation of both arms)."
		if folds > 0 {
			pairing = "Paired over (seed, fold) replicates (both fix the training and validation images, the labelled subset and the initialisation of both arms). The folds of one seed share most of their training images, so their differences are not independent: the tests treat them as if they were, which overstates the evidence; read the p-values as screening, and prefer effects that hold fold by fold."
		}
		fmt.Fprintf(&b, "%s Each arm is compared with the supervised arm trained with the same remedy against imbalance, and a supervised arm with a remedy with the plain one. Δ = arm − baseline. p-values are two-sided and Holm-corrected across the %d comparisons of this report, separately for each test; significance at α = %g on the corrected paired t test.\n\n", pairing, len(comps), Alpha)
		testCol, testSep := "", ""
		if len(tests) > 1 {
			testCol, testSep = " test set |", "---|"
		}
		b.WriteString("| labels | imbalance |" + testCol + " arm | baseline | n | Δ " + primaryTitle + " | paired t p | Holm p | Wilcoxon p | Holm p |\n")
		b.WriteString("|---|---|" + testSep + "---|---|---|---|---|---|---|---|\n")
		for _, c := range comps {
			test := ""
			if len(tests) > 1 {
				test = " " + c.TestSet + " |"
			}
			fmt.Fprintf(&b, "| %s | %s |%s %s | %s | %d | %s | %s | %s | %s | %s |\n", pct(c.Fraction), ratio(c.Imbalance), test, c.Label, c.Baseline, len(c.Pairs),
				signed(c.T.MeanDiff), pval(c.T.PValue), pval(c.HolmT), pval(c.Wilcoxon.PValue), pval(c.HolmWilcoxon))
		}
		b.WriteString("\n" + Summary(comps) + "\n\n")
		for _, c := range comps {
			b.WriteString("- " + c.Sentence() + "\n")
		}
		if minN(comps) < 6 {
			b.WriteString("\nWith fewer than 6 pairs the two-sided Wilcoxon signed-rank test cannot reach p < 0.05 (its smallest p-value with n pairs is 2/2ⁿ); it is shown for completeness.\n")
		}
		b.WriteString("\n")
	}
	writeBudgetNotes(&b, results)
	if opt.PerCell && primary.Name == metrics.MetricDice {
		b.WriteString("## Every cell (test Dice, 95% bootstrap interval over test volumes)\n\n")
		b.WriteString("| arm | labels | seed | labelled volumes (slices) | Dice | 95% CI | IoU | HD95 (mm) | volumes with HD95 = ∞ (per class) | val Dice | selected | seconds |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range results {
			var inf []int
			for k := 1; ; k++ {
				v, ok := r.Metrics[fmt.Sprintf("%s_%d", metrics.MetricHD95Inf, k)]
				if !ok {
					break
				}
				inf = append(inf, int(v))
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d (%s) | %.3f | [%.3f, %.3f] | %.3f | %.2f | %s | %.3f | %s | %.0f |\n", r.Label, pct(r.Fraction), r.Seed,
				r.TrainN, counts(r.TrainClassCounts), r.Metrics[metrics.MetricDice], r.AUCLow, r.AUCHigh, r.Metrics[metrics.MetricIoU], r.Metrics[metrics.MetricHD95],
				counts(inf), r.ValAUC, selected(r.Selected), r.Seconds)
		}
		b.WriteString("\n")
	} else if opt.PerCell {
		b.WriteString("## Every cell (test AUC, 95% stratified bootstrap interval over test images)\n\n")
		b.WriteString("| arm | labels | imbalance | replicate | test set | labelled images (per class) | AUC | 95% CI | ACC | balanced ACC | val AUC | selected | seconds |\n")
		b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, r := range results {
			for _, test := range tests {
				t, ok := r.Test(test)
				if !ok {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d (%s) | %.3f | [%.3f, %.3f] | %.3f | %.3f | %.3f | %s | %.0f |\n", r.Label, pct(r.Fraction), ratio(r.Imbalance), r.Replicate(), test,
					r.TrainN, counts(r.TrainClassCounts), t.Metrics[metrics.MetricAUC], t.AUCLow, t.AUCHigh, t.Metrics[metrics.MetricACC], t.Metrics[metrics.MetricBalancedACC],
					r.ValAUC, selected(r.Selected), r.Seconds)
			}
		}
		b.WriteString("\n")
	}
	if opt.Settings != "" {
		fmt.Fprintf(&b, "## Settings\n\n%s\n\n", opt.Settings)
	}
	if opt.Machine != "" {
		fmt.Fprintf(&b, "Machine: %s.\n\n", opt.Machine)
	}
	for _, f := range opt.Figures {
		fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(f, ".png"), f)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Summary says in one sentence which arms differ significantly from the supervised
// baseline, and where; or that none does, with the smallest corrected p-value.
func Summary(comps []Comparison) string {
	var wins []string
	best := math.NaN()
	for _, c := range comps {
		if !math.IsNaN(c.HolmT) && !(c.HolmT >= best) {
			best = c.HolmT
		}
		if c.Err != "" || !c.Significant() {
			continue
		}
		verb := "beats"
		if c.T.MeanDiff < 0 {
			verb = "loses to"
		}
		wins = append(wins, fmt.Sprintf("%s %s %s at %s labels (imbalance %s%s; Δ %s %s, p=%s)",
			c.Label, verb, c.Baseline, pct(c.Fraction), ratio(c.Imbalance), c.onTest(), metricTitle(c.Metric), signed(c.T.MeanDiff), pval(c.HolmT)))
	}
	if len(wins) > 0 {
		return "**Summary:** " + strings.Join(wins, "; ") + ". Every other comparison is not significant after Holm correction."
	}
	if math.IsNaN(best) {
		return "**Summary:** no comparison could be tested (each needs at least 2 pairs with non-identical differences)."
	}
	metric := "AUC"
	if len(comps) > 0 {
		metric = metricTitle(comps[0].Metric)
	}
	return fmt.Sprintf("**Summary:** no arm differs significantly from the supervised baseline on %s after Holm correction (smallest corrected p=%s).", metric, pval(best))
}

// onTest is "" for the internal test split and ", on <name>" for an external one.
func (c Comparison) onTest() string {
	if c.TestSet == InternalTest || c.TestSet == "" {
		return ""
	}
	return ", on " + c.TestSet
}

// pairsName says what the comparison's pairs are: "3 seeds", or "15 (seed, fold) pairs".
func (c Comparison) pairsName() string {
	for _, p := range c.Pairs {
		if p.Fold > 0 {
			return fmt.Sprintf("%d (seed, fold) pair%s", len(c.Pairs), plural(len(c.Pairs)))
		}
	}
	return fmt.Sprintf("%d seed%s", len(c.Pairs), plural(len(c.Pairs)))
}

// Sentence says in plain words who wins the comparison, or that it is not significant.
func (c Comparison) Sentence() string {
	where := fmt.Sprintf("At %s labels (imbalance %s%s)", pct(c.Fraction), ratio(c.Imbalance), c.onTest())
	if c.Err != "" || math.IsNaN(c.HolmT) {
		return fmt.Sprintf("%s, %s vs %s: no test (%s; %s).", where, c.Label, c.Baseline, c.pairsName(), c.Err)
	}
	if !c.Significant() {
		return fmt.Sprintf("%s, %s vs %s: not significant (p=%s Holm-corrected, paired t; Δ %s %s over %s).",
			where, c.Label, c.Baseline, pval(c.HolmT), metricTitle(c.Metric), signed(c.T.MeanDiff), c.pairsName())
	}
	winner, loser := c.Label, c.Baseline
	if c.T.MeanDiff < 0 {
		winner, loser = c.Baseline, c.Label
	}
	return fmt.Sprintf("%s, %s beats %s by %.3f %s (p=%s Holm-corrected, paired t over %s).",
		where, winner, loser, math.Abs(c.T.MeanDiff), metricTitle(c.Metric), pval(c.HolmT), c.pairsName())
}

// layout returns the arm labels (supervised first, then in order of appearance) and the
// (fraction, imbalance) rows, sorted.
func layout(results []Result) ([]string, [][2]float64) {
	var labels []string
	var rows [][2]float64
	for _, r := range results {
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		if row := [2]float64{r.Fraction, r.Imbalance}; !slices.Contains(rows, row) {
			rows = append(rows, row)
		}
	}
	slices.SortStableFunc(labels, func(a, b string) int {
		return cmp.Compare(boolInt(a != string(eval.ArmSupervised)), boolInt(b != string(eval.ArmSupervised)))
	})
	slices.SortFunc(rows, func(a, b [2]float64) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	return labels, rows
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeTable writes one metric's table: a row per (label fraction, imbalance) and, with
// external test sets, per test set; a column per arm.
func writeTable(b *strings.Builder, results []Result, labels []string, rows [][2]float64, tests []string, metric ReportMetric, reps int) {
	b.WriteString("| labels | imbalance |")
	if len(tests) > 1 {
		b.WriteString(" test set |")
	}
	for _, l := range labels {
		b.WriteString(" " + l + " |")
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(labels)))
	if len(tests) > 1 {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		for _, test := range tests {
			fmt.Fprintf(b, "| %s | %s |", pct(row[0]), ratio(row[1]))
			if len(tests) > 1 {
				b.WriteString(" " + test + " |")
			}
			for _, l := range labels {
				var xs []float64
				for _, r := range results {
					if r.Label != l || r.Fraction != row[0] || r.Imbalance != row[1] {
						continue
					}
					if t, ok := r.Test(test); ok {
						v, ok := t.Metrics[metric.Name]
						if !ok {
							v = math.NaN()
						}
						xs = append(xs, v)
					}
				}
				b.WriteString(" " + summary(xs, reps, metric) + " |")
			}
			b.WriteString("\n")
		}
	}
}

// labelCount is the number of labels of multi-label results (0 for single-label ones).
func labelCount(results []Result) int {
	for _, r := range results {
		if len(r.TestTargets) > 0 {
			return len(r.TestTargets[0])
		}
	}
	return 0
}

// labelsOf lists the arm labels of results in layout order.
func labelsOf(results []Result) []string {
	arms, _ := layout(results)
	return arms
}

// writeLabelTable writes the per-label test AUC of a multi-label task: a row per (label
// fraction, imbalance, label), a column per arm.
func writeLabelTable(b *strings.Builder, results []Result, arms []string, rows [][2]float64, labels int, names []string, reps int) {
	b.WriteString("| labels | imbalance | label |")
	for _, a := range arms {
		b.WriteString(" " + a + " |")
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(arms)) + "\n")
	for _, row := range rows {
		for k := range labels {
			name := fmt.Sprint(k)
			if k < len(names) {
				name = names[k]
			}
			fmt.Fprintf(b, "| %s | %s | %s |", pct(row[0]), ratio(row[1]), name)
			for _, a := range arms {
				var xs []float64
				for _, r := range results {
					if r.Label == a && r.Fraction == row[0] && r.Imbalance == row[1] {
						if v, ok := r.Metrics[fmt.Sprintf("%s_%d", metrics.MetricAUC, k)]; ok && !math.IsNaN(v) {
							xs = append(xs, v)
						}
					}
				}
				b.WriteString(" " + summary(xs, reps, unit) + " |")
			}
			b.WriteString("\n")
		}
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// summary formats "mean ± sd [lo, hi]" of xs (n appended when it differs from reps, the
// number of replicates).
func summary(xs []float64, reps int, m ReportMetric) string {
	if len(xs) == 0 {
		return "–"
	}
	mean, sd := metrics.MeanSD(xs)
	s := fmt.Sprintf("%.3f", mean)
	if len(xs) > 1 {
		s += fmt.Sprintf(" ± %.3f", sd)
		if lo, hi, err := seedInterval(xs, m); err == nil {
			s += fmt.Sprintf(" [%.3f, %.3f]", lo, hi)
		}
	}
	if len(xs) != reps {
		s += fmt.Sprintf(" (n=%d)", len(xs))
	}
	return s
}

func pct(f float64) string { return fmtNum(f*100) + "%" }

// ratio names an imbalance setting: "as is" for 1 (the training split untouched, which may
// itself be imbalanced: the per-cell table gives its class counts), else "r:1" imposed.
func ratio(r float64) string {
	if r == 1 {
		return "as is"
	}
	return fmtNum(r) + ":1"
}

// counts formats class counts as "a/b/...".
func counts(c []int) string {
	parts := make([]string, len(c))
	for i, n := range c {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, "/")
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%+.3f", v)
}

func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "–"
	case p < 0.001:
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", p)
}

func minN(cs []Comparison) int {
	n := math.MaxInt
	for _, c := range cs {
		n = min(n, len(c.Pairs))
	}
	return n
}

func selected(m map[string]float64) string {
	var parts []string
	for _, k := range []string{"lr", "wd", "k", "best_epoch"} {
		if v, ok := m[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%s", k, fmtNum(v)))
		}
	}
	return strings.Join(parts, " ")
}
