package study

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/segment"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// hippocampusConfig is a segmentation study of the committed hippocampus volumes (5 train,
// 1 val, 2 test) in a few steps of everything.
func hippocampusConfig(t *testing.T, out string, calls *[]Cell) Config {
	t.Helper()
	train, val, test := testutil.Hippocampus(t)
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Backend, cfg.OutDir = nil, medssl.MustBackend(), out
	cfg.Encoder = models.ResNetConfig{Depth: 18, Stem: models.SmallImageStem, BaseWidth: 4}
	protocol := segment.DefaultConfig()
	protocol.Steps, protocol.BatchSize, protocol.ValEvery = 6, 16, 3
	cfg.Segmentation = &Segmentation{Name: "hippocampus-fixtures", Train: train, Val: val, Test: test,
		Slices: seg.DefaultSliceConfig(48, 40), Protocol: protocol, Overlays: 2}
	cfg.Methods, cfg.Arms = []string{"genesis", NoPretraining}, []eval.Arm{eval.ArmSupervised, ArmFrozen, eval.ArmFineTune}
	cfg.Fractions, cfg.Seeds = []float64{0.4, 1}, []int64{1, 2}
	cfg.Pretrain.Steps, cfg.Pretrain.BatchSize = 3, 16
	cfg.KNNMonitor, cfg.BootstrapReps, cfg.Progress = false, 50, io.Discard
	cfg.OnCell = func(c Cell) { *calls = append(*calls, c) }
	return cfg
}

// A segmentation study runs the grid with the segmentation arms (a label fraction counts
// volumes), pretrains once per seed on the training slices, scores Dice/IoU/HD95, compares
// every arm with the supervised U-Net on Dice, resumes like any study, and draws overlays.
func TestSegmentationStudy(t *testing.T) {
	var calls []Cell
	out := t.TempDir()
	cfg := hippocampusConfig(t, out, &calls)
	var progress strings.Builder
	cfg.Progress = &progress
	st, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A segmentation cell's progress line speaks of Dice and volumes, not of AUC and images.
	if p := progress.String(); !strings.Contains(p, "test Dice ") || !strings.Contains(p, "labelled volumes)") || strings.Contains(p, "test AUC") {
		t.Errorf("progress lines:\n%s", p)
	}
	// Per seed and fraction: supervised, genesis+frozen, genesis+finetune, none+frozen.
	if len(st.Results) != 16 || len(st.Pretrainings) != 2 {
		t.Fatalf("%d results, %d pretrainings; want 16 and 2", len(st.Results), len(st.Pretrainings))
	}
	for _, r := range st.Results {
		d := r.Metrics["dice"]
		if !(d >= 0 && d <= 1) || r.Metrics["dice_1"] < 0 || !(r.AUCLow <= r.AUCHigh) {
			t.Errorf("%s: Dice %v, interval [%v, %v]", r.Key(), d, r.AUCLow, r.AUCHigh)
		}
		if want := map[float64]int{0.4: 2, 1: 5}[r.Fraction]; r.TrainN != want {
			t.Errorf("%s: %d labelled volumes, want %d", r.Key(), r.TrainN, want)
		}
	}
	comps := Compare(st.Results, "dice")
	if len(comps) != 6 || comps[0].Metric != "dice" {
		t.Fatalf("%d comparisons on %q, want 6 on dice", len(comps), comps[0].Metric)
	}
	var md strings.Builder
	if err := st.Markdown(&md, MarkdownOptions{PerCell: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Dice", "## HD95", "Arms against the supervised baseline (Dice)", "| supervised | genesis+frozen | genesis+finetune | none+frozen |", "labelled volumes (slices)"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	files, err := st.WritePlots()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"overlays_f1.png", "label_efficiency_dice_imb1.png"} {
		if st, err := os.Stat(filepath.Join(out, want)); err != nil || st.Size() == 0 || !strings.Contains(strings.Join(files, " "), want) {
			t.Errorf("%s: %v (files %v)", want, err, files)
		}
	}
	calls = nil
	again, err := Run(context.Background(), hippocampusConfig(t, out, &calls))
	if err != nil || again.Computed != 0 || len(calls) != 0 {
		t.Errorf("second run: computed %d, %v; want 0", again.Computed, err)
	}
	bad := hippocampusConfig(t, out, &calls)
	bad.Arms = []eval.Arm{eval.ArmKNN}
	if _, err := bad.Cells(); err == nil {
		t.Error("a kNN arm in a segmentation study: no error")
	}
	bad = hippocampusConfig(t, out, &calls)
	bad.Imbalances = []float64{1, 10}
	if _, err := bad.Cells(); err == nil {
		t.Error("imbalance ratios in a segmentation study: no error")
	}
}
