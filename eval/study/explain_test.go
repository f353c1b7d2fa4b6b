package study

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/explain"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// With Explain set, every arm of the first seed is explained on the same test images
// (Grad-CAM for the classifier and the probe, an empty column for kNN), the maps are kept
// beside the results, and one grid per label fraction is drawn; turning explanations on
// recomputes the first seed's cells only.
func TestStudyExplanations(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var calls []Cell
	out := t.TempDir()
	cfg := tinyConfig(ds, out, &calls)
	cfg.Encoder = models.ResNetFor(18, 28).Width(4)
	cfg.Methods, cfg.Arms, cfg.Fractions = []string{NoPretraining}, []eval.Arm{eval.ArmSupervised, eval.ArmLinear, eval.ArmKNN}, []float64{1}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Explain = 2
	calls = nil
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st.Computed != 3 || st.Resumed != 3 {
		t.Errorf("turning explanations on: computed %d, resumed %d; want 3 (seed 1) and 3 (seed 2)", st.Computed, st.Resumed)
	}
	sel, err := cfg.explainSelection()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Results {
		col, err := readColumn(cfg.explainFile(r.Cell))
		if r.Seed != 1 {
			if err == nil {
				t.Errorf("%s: maps drawn for seed %d", r.Key(), r.Seed)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", r.Key(), err)
		}
		switch r.Arm {
		case eval.ArmKNN:
			if col.Maps != nil || !strings.Contains(col.Note, "gradient") {
				t.Errorf("kNN column %+v, want no maps and a note", col)
			}
		default:
			if len(col.Maps) != sel.Images.N || col.Maps[0].Method != explain.MethodGradCAM || col.Maps[0].Class != sel.Images.Label(0) {
				t.Errorf("%s: %d maps (want %d) of %q", r.Key(), len(col.Maps), sel.Images.N, col.Maps[0].Method)
			}
		}
	}
	files, err := st.WritePlots()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range files {
		if f == "explain_f1_imb1.png" {
			found = true
			if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	if !found {
		t.Errorf("no explanation grid among %v", files)
	}
}
