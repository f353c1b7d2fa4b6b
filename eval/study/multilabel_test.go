package study

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testutil"
)

// A multi-label study runs every arm, under cross-validation too, scores each cell with
// MedMNIST's multi-label metrics, and reports the AUC per finding by name; remedies
// without a multi-label form are refused before anything trains.
func TestMultiLabelStudy(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
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
