package study

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/supervised"
)

func breast(t *testing.T) *data.Dataset {
	t.Helper()
	ds, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// tinyConfig is a whole study in seconds: a two-layer encoder, a few steps of everything.
func tinyConfig(ds *data.Dataset, out string, calls *[]Cell) Config {
	return Config{
		Dataset: ds, Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 8}, OutDir: out,
		Methods: []string{"simclr", NoPretraining}, Fractions: []float64{0.2, 1}, Seeds: []int64{1, 2},
		Pretrain:      PretrainSettings{Steps: 3, BatchSize: 64},
		Train:         supervised.Config{Epochs: 2, BatchSize: 128},
		Probe:         ProbeSettings{Epochs: 3, Grid: supervised.ProbeGrid{LearningRates: []float64{1e-2, 1e-1}}},
		KNN:           KNNSettings{Ks: []int{5, 20}},
		BootstrapReps: 100,
		Progress:      io.Discard,
		OnCell:        func(c Cell) { *calls = append(*calls, c) },
	}
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
	ds := breast(t)
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
	// Changing the supervised recipe invalidates the cells that depend on it only.
	cfg = tinyConfig(ds, out, &calls)
	cfg.Train.Epochs = 1
	cfg.StopAfter = 1
	changed, err := Run(context.Background(), cfg)
	// supervised (4) and simclr+finetune (4) cells depend on Train.Epochs: their lines are
	// stale now, the other 16 cells are reused.
	if !errors.Is(err, ErrStopped) || changed.Stale != 8 || changed.Resumed != 16 {
		t.Fatalf("changed epochs: err %v, stale %d, resumed %d; want ErrStopped, 8, 16", err, changed.Stale, changed.Resumed)
	}

	// Pretraining: one per (method, seed), none for method "none", loss curves recorded.
	if len(final.Pretrainings) != 2 {
		t.Fatalf("%d pretrainings, want 2 (simclr × 2 seeds)", len(final.Pretrainings))
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
