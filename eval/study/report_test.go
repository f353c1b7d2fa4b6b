package study

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// supLabel is the supervised arm's label.
const supLabel = string(eval.ArmSupervised)

func synth(label string, frac float64, seed int64, auc float64) Result {
	method, arm := NoPretraining, eval.ArmSupervised
	if label != string(eval.ArmSupervised) {
		parts := strings.SplitN(label, "+", 2)
		method, arm = parts[0], eval.Arm(parts[1])
	}
	return Result{Cell: Cell{Method: method, Arm: arm, Remedy: "none", Fraction: frac, Imbalance: 1, Seed: seed}, Label: label,
		Metrics: map[string]float64{"auc": auc, "acc": auc - 0.1, "balanced_acc": auc - 0.2}}
}

// pT2 is the two-sided p-value of Student's t with 2 degrees of freedom, in closed form.
func pT2(t float64) float64 { return 1 - math.Abs(t)/math.Sqrt(t*t+2) }

func pairedT(a, b []float64) float64 {
	n := float64(len(a))
	var mean float64
	for i := range a {
		mean += (a[i] - b[i]) / n
	}
	var ss float64
	for i := range a {
		d := a[i] - b[i] - mean
		ss += d * d
	}
	return mean / (math.Sqrt(ss/(n-1)) / math.Sqrt(n))
}

func TestReportTablesAndComparisons(t *testing.T) {
	sup := []float64{0.70, 0.72, 0.74}
	ft := []float64{0.80, 0.83, 0.86}
	lin := []float64{0.69, 0.75, 0.71}
	var results []Result
	for i, seed := range []int64{1, 2, 3} {
		results = append(results, synth(supLabel, 0.1, seed, sup[i]), synth("simclr+finetune", 0.1, seed, ft[i]), synth("simclr+linear", 0.1, seed, lin[i]))
	}
	comps := Compare(results, "auc")
	if len(comps) != 2 {
		t.Fatalf("%d comparisons, want 2", len(comps))
	}
	pFT, pLin := pT2(pairedT(ft, sup)), pT2(pairedT(lin, sup))
	// Holm with m = 2: the smaller p doubles, the larger is max(that, itself).
	lo, hi := math.Min(pFT, pLin), math.Max(pFT, pLin)
	holm := map[float64]float64{lo: math.Min(1, 2*lo), hi: math.Min(1, math.Max(2*lo, hi))}
	for _, c := range comps {
		want := map[string]float64{"simclr+finetune": pFT, "simclr+linear": pLin}[c.Label]
		if math.Abs(c.T.PValue-want) > 1e-9 {
			t.Errorf("%s: paired t p %v, closed form %v", c.Label, c.T.PValue, want)
		}
		if math.Abs(c.HolmT-holm[want]) > 1e-9 {
			t.Errorf("%s: Holm p %v, want %v", c.Label, c.HolmT, holm[want])
		}
		if len(c.Pairs) != 3 {
			t.Errorf("%s paired over %v", c.Label, c.Pairs)
		}
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, results, MarkdownOptions{Title: "T", Settings: "S", Machine: "M"}); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	// supervised AUC: mean 0.72, sd 0.02, 95% t-interval 0.72 ± t_{2,0.975}·0.02/√3 with
	// t_{2,0.975} = 4.302653 (inside [0, 1], so not cut).
	half := 4.302652729911275 * 0.02 / math.Sqrt(3)
	for _, want := range []string{
		"| labels | imbalance | supervised | simclr+finetune | simclr+linear |",
		"| 10% | as is | 0.720 ± 0.020 [" + f3(0.72-half) + ", " + f3(0.72+half) + "] | 0.830 ± 0.030 [",
		"intersected with the metric's range",
		"simclr+finetune beats supervised by 0.110 AUC",
		"**Summary:** simclr+finetune beats supervised at 10% labels (imbalance as is; Δ AUC +0.110, p=" + f3(holm[pFT]) + ")",
		"simclr+linear vs supervised: not significant (p=" + f3(holm[pLin]) + " Holm-corrected",
		"## Accuracy", "## Balanced accuracy", "| 10% | as is | 0.520 ± 0.020",
		"## Settings\n\nS", "Machine: M.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	// A lone seed gives no sd, no interval and no test.
	one := []Result{synth(supLabel, 1, 1, 0.8), synth("simclr+knn", 1, 1, 0.9)}
	buf.Reset()
	if err := WriteMarkdown(&buf, one, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if md := buf.String(); !strings.Contains(md, "| 100% | as is | 0.800 | 0.900 |") || !strings.Contains(md, "no test (1 seed;") ||
		!strings.Contains(md, "| 1 | +0.100 | – |") {
		t.Errorf("single-seed report:\n%s", md)
	}
}

func f3(v float64) string { return fmt.Sprintf("%.3f", v) }

// A distance's interval over seeds stops at 0: HD95 of 1, 1 and 20 mm has a t-interval
// reaching below zero, which the report cuts to the metric's range [0, ∞).
func TestDistanceIntervalStaysNonNegative(t *testing.T) {
	var results []Result
	for seed, hd := range []float64{1, 1, 20} {
		r := synth(supLabel, 1, int64(seed+1), 0)
		r.Metrics = map[string]float64{"dice": 0.7, "iou": 0.5, "hd95": hd}
		results = append(results, r)
	}
	mean, sd := metrics.MeanSD([]float64{1, 1, 20})
	if lo, _, err := metrics.TInterval([]float64{1, 1, 20}, 0.95); err != nil || lo >= 0 {
		t.Fatalf("the uncut interval starts at %v (%v): the case tests nothing", lo, err)
	}
	hi := mean + 4.302652729911275*sd/math.Sqrt(3)
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, results, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("| 100%% | as is | %s ± %s [0.000, %s] |", f3(mean), f3(sd), f3(hi))
	if md := buf.String(); !strings.Contains(md, "## HD95") || !strings.Contains(md, want) {
		t.Errorf("report lacks %q:\n%s", want, md)
	}
}

// Results survive JSON (NaN metrics as null), and a results file whose last line was cut
// short by a crash is read without it and repaired before the next append.
func TestResultsFileRoundTripAndRepair(t *testing.T) {
	r := synth("simclr+linear", 0.5, 7, 0.75)
	r.Metrics["macro_f1"] = math.NaN()
	r.AUCLow, r.AUCHigh, r.ValAUC = math.NaN(), 0.9, 0.6
	r.TestLabels, r.TestScores = []int{0, 1}, [][]float64{{0.25, 0.75}, {1.0 / 3, 2.0 / 3}}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"macro_f1":null`) {
		t.Errorf("NaN metric not null: %s", b)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !sameResult(back, r) || !math.IsNaN(back.Metrics["macro_f1"]) || !math.IsNaN(back.AUCLow) || back.TestScores[1][0] != 1.0/3 {
		t.Errorf("round trip: %+v, want %+v", back, r)
	}

	path := filepath.Join(t.TempDir(), ResultsFile)
	if err := os.WriteFile(path, append(append(b, '\n'), b[:len(b)/2]...), 0o644); err != nil {
		t.Fatal(err)
	}
	log, got, err := openResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d results, want 1 (the cut line dropped)", len(got))
	}
	r2 := r
	r2.Seed = 8
	if err := log.append(r2); err != nil {
		t.Fatal(err)
	}
	log.close()
	all, err := ReadResults(path)
	if err != nil || len(all) != 2 || all[1].Seed != 8 {
		t.Fatalf("after repair and append: %d results, %v", len(all), err)
	}
	// A broken line in the middle is an error naming the line.
	if err := os.WriteFile(path, append(append([]byte("{oops\n"), b...), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResults(path); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("corrupt line: error %v", err)
	}
}

func TestConfigCellsAndErrors(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var calls []Cell
	cfg := tinyConfig(ds, t.TempDir(), &calls)
	cfg.Seeds, cfg.Fractions, cfg.Imbalances = []int64{1}, []float64{0.5}, []float64{1, 4}
	cells, err := cfg.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range cells {
		keys = append(keys, c.Key())
	}
	want := []string{
		"supervised f=0.5 imb=1 seed=1", "simclr+linear f=0.5 imb=1 seed=1", "simclr+knn f=0.5 imb=1 seed=1",
		"simclr+finetune f=0.5 imb=1 seed=1", "none+linear f=0.5 imb=1 seed=1", "none+knn f=0.5 imb=1 seed=1",
		"supervised f=0.5 imb=4 seed=1", "simclr+linear f=0.5 imb=4 seed=1", "simclr+knn f=0.5 imb=4 seed=1",
		"simclr+finetune f=0.5 imb=4 seed=1", "none+linear f=0.5 imb=4 seed=1", "none+knn f=0.5 imb=4 seed=1",
	}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// Imbalance first, then the label fraction of what is left; both seeded.
	imb, lab, _, err := cfg.splits(cells[6])
	if err != nil {
		t.Fatal(err)
	}
	counts := ds.Train.ClassCounts() // BreastMNIST train: 147 malignant (0), 399 benign (1)
	wantMinor := int(math.Round(float64(counts[1]) / 4))
	if got := imb.ClassCounts(); got[1] != counts[1] || got[0] != wantMinor {
		t.Errorf("imbalance 4: class counts %v, want [%d %d]", got, wantMinor, counts[1])
	}
	if got := lab.ClassCounts(); got[0] != int(math.Round(float64(wantMinor)/2)) || got[1] != int(math.Round(float64(counts[1])/2)) {
		t.Errorf("then half the labels: %v", got)
	}
	// The supervised recipe changes supervised and fine-tuning fingerprints, not kNN's.
	set, err := cfg.fingerprints()
	if err != nil {
		t.Fatal(err)
	}
	fingerprint := func(c Config, cell Cell) string {
		s, err := c.fingerprints()
		if err != nil {
			t.Fatal(err)
		}
		return c.fingerprint(s, cell)
	}
	other := cfg
	other.Protocols.Train.Optimizer.LearningRate = 0.5
	for _, c := range cells[:4] {
		changed := cfg.fingerprint(set, c) != fingerprint(other, c)
		if changed != (c.Arm == eval.ArmSupervised || c.Arm == eval.ArmFineTune) {
			t.Errorf("%s: fingerprint changed %v with the learning rate", c.Key(), changed)
		}
	}
	// The bootstrap replicates change every stored interval, so every fingerprint; the
	// encoder's configuration (a ResNet's stem) every one too; the method's hyperparameters
	// those of the cells that pretrain.
	other = cfg
	other.BootstrapReps = cfg.BootstrapReps + 1
	small, standard := cfg, cfg
	small.Encoder, standard.Encoder = models.ResNet18().Width(4), models.ResNetConfig{Depth: 18, BaseWidth: 4, Stem: models.StandardStem}
	for _, c := range cells[:4] {
		if cfg.fingerprint(set, c) == fingerprint(other, c) {
			t.Errorf("%s: fingerprint ignores BootstrapReps", c.Key())
		}
		if fingerprint(small, c) == fingerprint(standard, c) {
			t.Errorf("%s: fingerprint ignores the ResNet stem", c.Key())
		}
	}
	// A linear probe's own learning rate (the search leaves it to Probe) enters its fingerprint.
	other = cfg
	other.Protocols.Search = eval.Search{}
	other2 := other
	other2.Protocols.Probe.Optimizer.LearningRate = 0.5
	if fingerprint(other, cells[1]) == fingerprint(other2, cells[1]) {
		t.Errorf("%s: fingerprint ignores the probe's learning rate", cells[1].Key())
	}
	// A transform whose parameters cannot be described is an error, not a silent reuse.
	other = cfg
	other.Protocols.Train.Augment = augment.Compose(augment.HorizontalFlip{P: 0.5})
	if _, err := other.Cells(); err == nil || !strings.Contains(err.Error(), "augment.Pipeline") {
		t.Errorf("augment.Func transform: error %v, want one asking for a describable transform", err)
	}
	for name, mutate := range map[string]func(*Config){
		"unknown method": func(c *Config) { c.Methods = []string{"nope"} },
		"unknown arm":    func(c *Config) { c.Arms = []eval.Arm{"svm"} },
		"no seeds":       func(c *Config) { c.Seeds = nil },
		"zero epochs":    func(c *Config) { c.Protocols.Train.Epochs = 0 },
		"fraction 0":     func(c *Config) { c.Fractions = []float64{0} },
		"imbalance 0.5":  func(c *Config) { c.Imbalances = []float64{0.5} },
		"duplicate seed": func(c *Config) { c.Seeds = []int64{1, 1} },
		"no out dir":     func(c *Config) { c.OutDir = "" },
		"no dataset":     func(c *Config) { c.Dataset = nil },
	} {
		c := tinyConfig(ds, t.TempDir(), &calls)
		mutate(&c)
		if _, err := c.Cells(); err == nil || !strings.HasPrefix(err.Error(), "study: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// An untouched training split is "as is" (it may be imbalanced itself); an imposed ratio r
// is "r:1".
func TestRatioNames(t *testing.T) {
	if got := ratio(1); got != "as is" {
		t.Errorf("ratio(1) = %q", got)
	}
	if got := ratio(10); got != "10:1" {
		t.Errorf("ratio(10) = %q", got)
	}
	if got := counts([]int{388, 3494}); got != "388/3494" {
		t.Errorf("counts = %q", got)
	}
}

// Remedies are a dimension of the grid: the trained arms run once per remedy, kNN once,
// and each arm is compared with the supervised arm of the same remedy (the supervised arm
// with a remedy with the plain one).
func TestRemediesInTheGrid(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var calls []Cell
	cfg := tinyConfig(ds, t.TempDir(), &calls)
	cfg.Seeds, cfg.Fractions, cfg.Methods, cfg.Remedies = []int64{1}, []float64{1}, []string{"simclr"}, []string{"none", "weighted"}
	cells, err := cfg.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range cells {
		keys = append(keys, c.Label()+" <- "+c.Baseline())
	}
	want := []string{"supervised <- ", "supervised (weighted) <- supervised",
		"simclr+linear <- supervised", "simclr+linear (weighted) <- supervised (weighted)", "simclr+knn <- supervised",
		"simclr+finetune <- supervised", "simclr+finetune (weighted) <- supervised (weighted)"}
	if strings.Join(keys, "\n") != strings.Join(want, "\n") {
		t.Errorf("cells:\n%s\nwant:\n%s", strings.Join(keys, "\n"), strings.Join(want, "\n"))
	}
	// RemedyArms limits the remedies to the supervised arm.
	cfg.RemedyArms = []eval.Arm{eval.ArmSupervised}
	limited, err := cfg.Cells()
	if err != nil {
		t.Fatal(err)
	}
	keys = nil
	for _, c := range limited {
		keys = append(keys, c.Label())
	}
	if want := "supervised,supervised (weighted),simclr+linear,simclr+knn,simclr+finetune"; strings.Join(keys, ",") != want {
		t.Errorf("RemedyArms supervised: cells %s, want %s", strings.Join(keys, ","), want)
	}
	cfg.RemedyArms = []eval.Arm{eval.ArmKNN}
	if _, err := cfg.Cells(); err == nil || !strings.Contains(err.Error(), "knn") {
		t.Errorf("RemedyArms knn: error %v", err)
	}
	cfg.RemedyArms = nil
	cfg.Remedies = []string{"none", "sqrt"}
	if _, err := cfg.Cells(); err == nil || !strings.Contains(err.Error(), "sqrt") {
		t.Errorf("unknown remedy: error %v", err)
	}
	// Compare pairs by baseline.
	var results []Result
	for _, seed := range []int64{1, 2, 3} {
		for _, c := range cells {
			c.Seed = seed
			results = append(results, Result{Cell: c, Label: c.Label(), Metrics: map[string]float64{"auc": 0.7 + 0.01*float64(seed) + 0.001*float64(len(c.Label()))}})
		}
	}
	for _, c := range Compare(results, "auc") {
		if want := map[string]string{"supervised (weighted)": "supervised", "simclr+finetune (weighted)": "supervised (weighted)",
			"simclr+linear (weighted)": "supervised (weighted)", "simclr+knn": "supervised", "simclr+linear": "supervised",
			"simclr+finetune": "supervised"}[c.Label]; c.Baseline != want {
			t.Errorf("%s compared with %q, want %q", c.Label, c.Baseline, want)
		}
	}
}

// The budget check names an arm whose every run kept its last validated model (epochs or
// steps), and no arm that peaked earlier once, nor kNN, nor a single run.
func TestBudgetNotes(t *testing.T) {
	var results []Result
	for seed := int64(1); seed <= 3; seed++ {
		sup := synth(supLabel, 1, seed, 0.8)
		sup.Selected = map[string]float64{"best_epoch": 15, "epochs": 15, "lr": 1e-3}
		lin := synth("simclr+linear", 1, seed, 0.8)
		lin.Selected = map[string]float64{"best_epoch": 100, "epochs": 100}
		if seed == 2 {
			lin.Selected["best_epoch"] = 60
		}
		ft := synth("simclr+finetune", 1, seed, 0.8)
		ft.Selected = map[string]float64{"best_step": 450, "steps": 450}
		knn := synth("simclr+knn", 1, seed, 0.8)
		knn.Selected = map[string]float64{"k": 20}
		results = append(results, sup, lin, ft, knn)
	}
	lone := synth(supLabel, 0.1, 1, 0.7)
	lone.Selected = map[string]float64{"best_epoch": 15, "epochs": 15}
	results = append(results, lone)
	got := budgetNotes(results)
	want := []string{
		"simclr+finetune at 100% labels (imbalance as is): all 3 runs",
		"supervised at 100% labels (imbalance as is): all 3 runs",
	}
	if !slices.Equal(got, want) {
		t.Errorf("budget notes %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, results, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "**Budget check:**") {
		t.Errorf("report lacks the budget check:\n%s", buf.String())
	}
}
