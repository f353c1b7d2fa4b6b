package study

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testutil"
)

// tinyConfig is a whole study in seconds: a two-layer encoder, a few steps of everything.
func tinyConfig(ds *data.Dataset, out string, calls *[]Cell) Config {
	cfg := DefaultConfig()
	cfg.Dataset, cfg.Backend, cfg.Encoder, cfg.OutDir = ds, medssl.MustBackend(), testutil.SmallEncoder{Width: 8}, out
	cfg.Methods, cfg.Fractions, cfg.Seeds = []string{"simclr", NoPretraining}, []float64{0.2, 1}, []int64{1, 2}
	cfg.Pretrain.Steps, cfg.Pretrain.BatchSize = 3, 64
	cfg.Protocols.Train.Epochs, cfg.Protocols.FineTune.Epochs = 2, 2
	cfg.Protocols.Probe.Epochs = 3
	cfg.Protocols.Search = eval.Search{LRFactors: []float64{1, 10}}
	cfg.Protocols.KNNKs = []int{5, 20}
	cfg.BootstrapReps, cfg.Progress = 100, io.Discard
	cfg.OnCell = func(c Cell) { *calls = append(*calls, c) }
	return cfg
}

// sameResult compares everything but timings.
func sameResult(a, b Result) bool {
	a.Seconds, b.Seconds = 0, 0
	a.Finished = b.Finished
	return reflect.DeepEqual(normalise(a), normalise(b))
}

// normalise replaces NaNs (never equal to themselves) by a marker.
func normalise(r Result) Result {
	m := map[string]float64{}
	for k, v := range r.Metrics {
		if math.IsNaN(v) {
			v = -12345
		}
		m[k] = v
	}
	r.Metrics = m
	for _, f := range []*float64{&r.AUCLow, &r.AUCHigh, &r.ValAUC} {
		if math.IsNaN(*f) {
			*f = -12345
		}
	}
	return r
}

// A study stopped twice (after 3 cells by StopAfter, then by cancelling its context) and
// resumed ends with exactly the results of an uninterrupted run, and computes every cell
// once.
func TestRunResumesWithoutRecomputing(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var fullCalls []Cell
	full, err := Run(context.Background(), tinyConfig(ds, t.TempDir(), &fullCalls))
	if err != nil {
		t.Fatal(err)
	}
	// 2 seeds × 2 fractions × (supervised + simclr linear, knn, finetune + none linear, knn).
	if len(full.Results) != 24 || len(fullCalls) != 24 || !full.Done() || full.Computed != 24 {
		t.Fatalf("uninterrupted: %d results, %d protocol calls, want 24 each", len(full.Results), len(fullCalls))
	}

	out := t.TempDir()
	var calls []Cell
	cfg := tinyConfig(ds, out, &calls)
	cfg.StopAfter = 3
	part, err := Run(context.Background(), cfg)
	if !errors.Is(err, ErrStopped) || len(part.Results) != 3 || len(calls) != 3 {
		t.Fatalf("StopAfter 3: err %v, %d results, %d calls", err, len(part.Results), len(calls))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg = tinyConfig(ds, out, &calls)
	inner := cfg.OnCell
	cfg.OnCell = func(c Cell) {
		inner(c)
		if len(calls) == 8 {
			cancel() // stops after this cell, the 8th overall
		}
	}
	part, err = Run(ctx, cfg)
	if !errors.Is(err, ErrStopped) || part.Resumed != 3 || len(part.Results) != 8 || len(calls) != 8 {
		t.Fatalf("cancelled: err %v, resumed %d, %d results, %d calls; want ErrStopped, 3, 8, 8", err, part.Resumed, len(part.Results), len(calls))
	}
	final, err := Run(context.Background(), tinyConfig(ds, out, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 24 || final.Resumed != 8 || final.Computed != 16 {
		t.Fatalf("after resuming: %d protocol calls in total (want 24), resumed %d, computed %d", len(calls), final.Resumed, final.Computed)
	}
	seen := map[string]bool{}
	for _, c := range calls {
		if seen[c.Key()] {
			t.Errorf("cell %s computed twice", c.Key())
		}
		seen[c.Key()] = true
	}
	if len(final.Results) != len(full.Results) {
		t.Fatalf("%d results, want %d", len(final.Results), len(full.Results))
	}
	for i := range full.Results {
		if !sameResult(final.Results[i], full.Results[i]) {
			t.Errorf("cell %s differs after resuming:\n%+v\nuninterrupted:\n%+v", full.Results[i].Key(), final.Results[i], full.Results[i])
		}
	}
	// The file holds each cell once; one more run computes nothing.
	onDisk, err := ReadResults(filepath.Join(out, ResultsFile))
	if err != nil || len(onDisk) != 24 {
		t.Fatalf("results.jsonl: %d lines, %v; want 24", len(onDisk), err)
	}
	again, err := Run(context.Background(), tinyConfig(ds, out, &calls))
	if err != nil || again.Computed != 0 || len(calls) != 24 {
		t.Fatalf("third run: err %v, computed %d", err, again.Computed)
	}
	// Changing one parameter of the supervised arms' augmentation invalidates the
	// supervised (4) and simclr+finetune (4) cells only: they are recomputed, the other 16
	// are reused.
	cfg = tinyConfig(ds, out, &calls)
	aug := augment.SupervisedDefault()
	aug.Crop.Scale[0] = 0.7
	cfg.Protocols.Train.Augment = aug
	calls = nil
	changed, err := Run(context.Background(), cfg)
	if err != nil || changed.Stale != 8 || changed.Resumed != 16 || changed.Computed != 8 {
		t.Fatalf("changed crop scale: err %v, stale %d, resumed %d, computed %d; want 8, 16, 8", err, changed.Stale, changed.Resumed, changed.Computed)
	}
	for _, c := range calls {
		if c.Arm != eval.ArmSupervised && c.Arm != eval.ArmFineTune {
			t.Errorf("%s recomputed after a change to the supervised augmentation", c.Key())
		}
	}
	// Changing one parameter of the pretraining augmentation invalidates every cell that
	// reads a pretrained encoder (simclr: 3 arms × 2 fractions × 2 seeds) and nothing else.
	pre := augment.MedicalDefault()
	pre.NoiseP = 0.5
	cfg.Pretrain.Augment = pre
	calls = nil
	changed, err = Run(context.Background(), cfg)
	if err != nil || changed.Computed != 12 || changed.Resumed != 12 {
		t.Fatalf("changed noise probability: err %v, computed %d, resumed %d; want 12, 12", err, changed.Computed, changed.Resumed)
	}
	for _, c := range calls {
		if c.Method != "simclr" {
			t.Errorf("%s recomputed after a change to the pretraining augmentation", c.Key())
		}
	}

	// Pretraining: one per (method, seed), none for method "none", loss curves recorded.
	if len(final.Pretrainings) != 2 {
		t.Fatalf("%d pretrainings, want 2 (simclr × 2 seeds)", len(final.Pretrainings))
	}
	if len(changed.Pretrainings) != 4 {
		t.Errorf("%d pretrainings on disk after the augmentation change, want 4 (2 per augmentation)", len(changed.Pretrainings))
	}
	for _, p := range final.Pretrainings {
		if p.Steps != 3 || len(p.Loss) != 3 || math.IsNaN(p.Loss[0]) {
			t.Errorf("pretraining %s: %d steps, loss %v", p.Name, p.Steps, p.Loss)
		}
	}
	// Every cell carries test scores and labels for ROC curves and bootstrap.
	for _, r := range final.Results {
		if len(r.TestScores) != ds.Test.N || len(r.TestLabels) != ds.Test.N || !(r.AUCLow <= r.Metrics["auc"] && r.Metrics["auc"] <= r.AUCHigh) {
			t.Errorf("%s: %d scores, %d labels, AUC %v outside its bootstrap interval [%v, %v]", r.Key(),
				len(r.TestScores), len(r.TestLabels), r.Metrics["auc"], r.AUCLow, r.AUCHigh)
		}
		if r.NeedsPretraining() != (r.Pretraining != "") {
			t.Errorf("%s: pretraining %q", r.Key(), r.Pretraining)
		}
	}
	var md strings.Builder
	if err := final.Markdown(&md, MarkdownOptions{PerCell: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| supervised | simclr+linear | simclr+knn | simclr+finetune | none+linear | none+knn |", "## Balanced accuracy", "Holm"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	if err := final.WriteFiles(MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{ReportFile, CSVFile, JSONFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// Several workers compute the same cells, each once, with the same results as one worker,
// and do run cells side by side.
func TestWorkersGiveTheSameResults(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	var oneCalls, manyCalls []Cell
	one := tinyConfig(ds, t.TempDir(), &oneCalls)
	one.Workers = 1
	serial, err := Run(context.Background(), one)
	if err != nil {
		t.Fatal(err)
	}
	many := tinyConfig(ds, t.TempDir(), &manyCalls)
	many.Workers = 3
	var progress strings.Builder
	many.Progress = &progress
	parallel, err := Run(context.Background(), many)
	if err != nil {
		t.Fatal(err)
	}
	if len(manyCalls) != len(oneCalls) || len(parallel.Results) != len(serial.Results) || !parallel.Done() {
		t.Fatalf("3 workers: %d calls, %d results; 1 worker: %d, %d", len(manyCalls), len(parallel.Results), len(oneCalls), len(serial.Results))
	}
	seen := map[string]bool{}
	for _, c := range manyCalls {
		if seen[c.Key()] {
			t.Errorf("cell %s computed twice", c.Key())
		}
		seen[c.Key()] = true
	}
	for i := range serial.Results {
		if !sameResult(parallel.Results[i], serial.Results[i]) {
			t.Errorf("cell %s differs with 3 workers:\n%+v\n1 worker:\n%+v", serial.Results[i].Key(), parallel.Results[i], serial.Results[i])
		}
	}
	if !strings.Contains(progress.String(), " 2 running") && !strings.Contains(progress.String(), " 3 running") {
		t.Errorf("3 workers never ran two cells at once:\n%s", progress.String())
	}
}

// Jobs hold every cell once, a pretraining's cells together, seeds in the grid's order and,
// within a seed, the jobs with a pretraining first.
func TestJobsOrder(t *testing.T) {
	var calls []Cell
	cfg := tinyConfig(testutil.BreastMNIST(t), t.TempDir(), &calls)
	set, err := cfg.fingerprints()
	if err != nil {
		t.Fatal(err)
	}
	cells := cfg.cells()
	jobs := jobsOf(cfg, set, cells)
	var got []string
	for _, j := range jobs {
		desc := fmt.Sprintf("seed%d:", j.cells[0].Seed)
		for _, c := range j.cells {
			if c.Seed != j.cells[0].Seed || (j.pretrainKey != "") != c.NeedsPretraining() ||
				(j.pretrainKey != "" && cfg.pretrainKey(set, c) != j.pretrainKey) {
				t.Errorf("job %q holds %s", j.pretrainKey, c.Key())
			}
			desc += " " + c.Label()
		}
		got = append(got, desc)
	}
	// 2 seeds: the simclr pretraining's 3 arms × 2 fractions, then the singles in grid
	// order (supervised and the random encoder's linear and kNN, per fraction).
	want := []string{
		"seed1: simclr+linear simclr+knn simclr+finetune simclr+linear simclr+knn simclr+finetune",
		"seed1: supervised", "seed1: none+linear", "seed1: none+knn", "seed1: supervised", "seed1: none+linear", "seed1: none+knn",
		"seed2: simclr+linear simclr+knn simclr+finetune simclr+linear simclr+knn simclr+finetune",
		"seed2: supervised", "seed2: none+linear", "seed2: none+knn", "seed2: supervised", "seed2: none+linear", "seed2: none+knn",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("jobs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
