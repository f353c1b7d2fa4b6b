package study

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testdata"
)

// chestXRay loads the committed ChestX-ray14 subset (14 findings) split by patient.
func chestXRay(t *testing.T) *data.Dataset {
	t.Helper()
	csv := testdata.Path(t, "chestxray14/labels.csv")
	f, err := folder.Load(filepath.Join(filepath.Dir(csv), "images"), folder.MultiLabelCSV(csv), folder.ImageSize(28, 28))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.SplitByPatient(data.SplitFractions{Train: 0.6, Val: 0.2, Test: 0.2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.Dataset(m)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// A multi-label study runs every arm, under cross-validation too, scores each cell with
// MedMNIST's multi-label metrics, and reports the AUC per finding by name; remedies
// without a multi-label form are refused before anything trains.
func TestMultiLabelStudy(t *testing.T) {
	ds := chestXRay(t)
	var calls []Cell
	cfg := tinyConfig(ds, t.TempDir(), &calls)
	cfg.Methods, cfg.Arms, cfg.Fractions, cfg.Seeds = []string{NoPretraining}, []eval.Arm{eval.ArmSupervised, eval.ArmLinear, eval.ArmKNN}, []float64{1}, []int64{1}
	cfg.Folds = 2
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Results) != 6 {
		t.Fatalf("%d results, want 3 arms × 2 folds", len(st.Results))
	}
	for _, r := range st.Results {
		if len(r.TestTargets) != ds.Test.N || len(r.TestTargets[0]) != 14 || len(r.TestScores[0]) != 14 || r.TestLabels != nil {
			t.Errorf("%s: test targets %d×?, scores %d×%d", r.Key(), len(r.TestTargets), len(r.TestScores), len(r.TestScores[0]))
		}
		if auc := r.Metrics["auc"]; math.IsNaN(auc) || auc <= 0 || auc >= 1 || r.Metrics["scored_labels"] < 1 {
			t.Errorf("%s: macro AUC %v over %v labels", r.Key(), auc, r.Metrics["scored_labels"])
		}
		if !(r.AUCLow <= r.AUCHigh) {
			t.Errorf("%s: bootstrap interval [%v, %v]", r.Key(), r.AUCLow, r.AUCHigh)
		}
	}
	var md strings.Builder
	if err := st.Markdown(&md, MarkdownOptions{PerCell: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## AUC per label (internal test split)", "| 100% | as is | Effusion |", "| 100% | as is | Hernia |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	if _, err := st.WritePlots(); err != nil {
		t.Errorf("plots: %v", err)
	}
	cfg.Remedies = []string{"none", "oversample"}
	if _, err := cfg.Cells(); err == nil || !strings.Contains(err.Error(), "oversample") {
		t.Errorf("oversampling a multi-label study: error %v", err)
	}
}
