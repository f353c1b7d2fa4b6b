package study

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testutil"
)

// Cross-validation: every cell runs once per fold, trained on the other folds and selected
// on its own; the folds partition train+val; the test split is untouched; the report pairs
// over (seed, fold).
func TestCrossValidationCells(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var calls []Cell
	cfg := tinyConfig(ds, t.TempDir(), &calls)
	cfg.Methods, cfg.Arms, cfg.Fractions, cfg.Seeds = []string{NoPretraining}, []eval.Arm{eval.ArmSupervised, eval.ArmKNN}, []float64{1}, []int64{1, 2}
	cfg.Folds = 3
	cells, err := cfg.Cells()
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 2*3*2 || cells[0].Key() != "supervised f=1 imb=1 seed=1 fold=1" {
		t.Fatalf("%d cells, first %q; want 12, first \"supervised f=1 imb=1 seed=1 fold=1\"", len(cells), cells[0].Key())
	}
	dev := ds.Train.N + ds.Val.N
	for _, seed := range []int64{1, 2} {
		var vals []*data.Split
		for f := 1; f <= 3; f++ {
			train, labelled, val, err := cfg.splits(Cell{Fraction: 1, Imbalance: 1, Seed: seed, Fold: f})
			if err != nil {
				t.Fatal(err)
			}
			if train.N+val.N != dev || labelled.N != train.N {
				t.Errorf("seed %d fold %d: %d train + %d val, want %d in all", seed, f, train.N, val.N, dev)
			}
			if missing := missingClasses(val); len(missing) > 0 {
				t.Errorf("seed %d fold %d: validation lacks class %v", seed, f, missing)
			}
			vals = append(vals, val)
		}
		if n := vals[0].N + vals[1].N + vals[2].N; n != dev {
			t.Errorf("seed %d: validation folds hold %d images, want %d", seed, n, dev)
		}
	}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Results) != 12 || len(calls) != 12 {
		t.Fatalf("%d results, %d calls; want 12", len(st.Results), len(calls))
	}
	comps := Compare(st.Results, "auc")
	if len(comps) != 1 || len(comps[0].Pairs) != 6 || comps[0].Pairs[5] != (Replicate{2, 3}) {
		t.Fatalf("comparisons %+v, want one over 6 (seed, fold) pairs", comps)
	}
	var md strings.Builder
	if err := st.Markdown(&md, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 seeds × 3-fold cross-validation", "over the 6 (seed, fold) replicates", "overstates the evidence", "6 (seed, fold) pairs"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	cfg.Folds = 1
	if _, err := cfg.Cells(); err == nil {
		t.Error("Folds 1: no error")
	}
}

// An external test set is scored by every cell with the cell's selected model: a copy of
// the internal test split gets exactly its scores. A pool pretrains once per seed and
// serves every fraction; its cells are labelled "<method>@<pool>+<arm>".
func TestExternalTestsAndPools(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var calls []Cell
	cfg := tinyConfig(ds, t.TempDir(), &calls)
	cfg.Methods, cfg.Arms, cfg.Seeds = []string{"simclr"}, []eval.Arm{eval.ArmSupervised, eval.ArmLinear, eval.ArmKNN}, []int64{1}
	cfg.Pools = []Pool{{Name: "valpool", Source: ds.Val}}
	cfg.PretrainOn = []string{OwnImages, "valpool"}
	cfg.ExternalTests = []TestSet{{Name: "copy", Split: ds.Test}}
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, r := range st.Results {
		if !slices.Contains(labels, r.Label) {
			labels = append(labels, r.Label)
		}
		if len(r.External) != 1 || r.External[0].Name != "copy" || !slices.EqualFunc(r.External[0].Scores, r.TestScores, slices.Equal) ||
			r.External[0].Metrics["auc"] != r.Metrics["auc"] {
			t.Errorf("%s: external scores differ from the internal ones on the same images", r.Key())
		}
	}
	want := []string{"supervised", "simclr+linear", "simclr+knn", "simclr@valpool+linear", "simclr@valpool+knn"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	// One pretraining on the pool for seed 1 (both fractions), one on the own images.
	var pools []string
	for _, p := range st.Pretrainings {
		pools = append(pools, p.Pool)
	}
	slices.Sort(pools)
	if !slices.Equal(pools, []string{"", "valpool"}) {
		t.Errorf("pretrainings on %q, want one on the own images and one on valpool", pools)
	}
	comps := Compare(st.Results, "auc")
	tests := map[string]int{}
	for _, c := range comps {
		tests[c.TestSet]++
	}
	if tests[InternalTest] != 8 || tests["copy"] != 8 {
		t.Errorf("comparisons per test set %v, want 8 each (4 arms × 2 fractions)", tests)
	}
	var md strings.Builder
	if err := st.Markdown(&md, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"external test set copy", "| labels | imbalance | test set | supervised |", "| 20% | as is | copy |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}

	// Pretraining on the pool only: "none" still gives its random-encoder cells, once.
	poolOnly := cfg
	poolOnly.Methods, poolOnly.PretrainOn = []string{"simclr", NoPretraining}, []string{"valpool"}
	cells, err := poolOnly.Cells()
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range cells[:5] {
		keys = append(keys, c.Label())
	}
	if want := "supervised,simclr@valpool+linear,simclr@valpool+knn,none+linear,none+knn"; strings.Join(keys, ",") != want {
		t.Errorf("cells %s, want %s", strings.Join(keys, ","), want)
	}

	bad := cfg
	bad.PretrainOn = []string{"elsewhere"}
	if _, err := bad.Cells(); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("unknown pool: error %v", err)
	}
	bad = cfg
	small := ds.Test.Subset([]int{0, 1, 2})
	small.Height, small.Width, small.Images = 2, 2, make([]uint8, 12)
	bad.ExternalTests = []TestSet{{Name: "tiny", Split: small}}
	if _, err := bad.Cells(); err == nil || !strings.Contains(err.Error(), "tiny") {
		t.Errorf("external test set of another image size: error %v", err)
	}
}
