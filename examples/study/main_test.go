package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil/npztest"
)

// arrays returns a split's images [N][28][28] and labels [N][1], as npy.Write takes them.
func arrays(s *data.Split) ([][28][28]uint8, [][1]uint8) {
	images := make([][28][28]uint8, s.N)
	labels := make([][1]uint8, s.N)
	for i := range images {
		img := s.Image(i)
		for y := range 28 {
			copy(images[i][y][:], img[y*28:(y+1)*28])
		}
		labels[i][0] = uint8(s.Labels[i])
	}
	return images, labels
}

// Every malformed file given to the main job with -data stops it before anything trains,
// with one error that names the file and the problem; labels that make a study meaningless
// (a sparse label, a training split of one class, a validation split missing a class) are
// caught where they enter, never deep inside training.
func TestMainJobRejectsMalformedFiles(t *testing.T) {
	real, err := os.ReadFile(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	_, trainLabels := arrays(ds.Train)
	_, valLabels := arrays(ds.Val)
	oneClass := make([][1]uint8, len(trainLabels))
	for i := range oneClass {
		oneClass[i][0] = 1
	}
	fiveClass := func(labels [][1]uint8) [][1]uint8 {
		out := make([][1]uint8, len(labels))
		for i := range out {
			out[i][0] = uint8(i % 5)
		}
		return out
	}
	sparseVal := fiveClass(valLabels)
	sparseVal[17][0] = 250
	noMalignantVal := make([][1]uint8, len(valLabels))
	for i := range noMalignantVal {
		noMalignantVal[i][0] = 1
	}
	cases := []struct {
		name string
		file []byte
		want []string
	}{
		{"truncated", real[:len(real)/2], []string{"bad.npz", "not a readable .npz"}},
		{"random bytes", []byte("\x00\x13garbage that is not an archive at all\xff"), []string{"bad.npz", "not a readable .npz"}},
		{"empty", nil, []string{"bad.npz", "not a readable .npz"}},
		{"float images", npztest.Rewrite(t, real, map[string]any{"train_images": make([][28][28]float32, 546)}, ""), []string{"bad.npz: train_images", "want uint8"}},
		{"missing key", npztest.Rewrite(t, real, nil, "test_labels"), []string{"bad.npz: test_labels: array missing"}},
		{"count mismatch", npztest.Rewrite(t, real, map[string]any{"val_labels": make([][1]uint8, 70)}, ""), []string{"bad.npz: val_labels: shape [70 1] does not match val_images [78 28 28]"}},
		{"non-square", npztest.Rewrite(t, real, map[string]any{"test_images": make([][28][20]uint8, 156)}, ""), []string{"bad.npz: test_images", "square"}},
		{"empty train split", npztest.Rewrite(t, real, map[string]any{"train_images": npztest.Header("|u1", 0, 28, 28), "train_labels": npztest.Header("|u1", 0, 1)}, ""),
			[]string{"bad.npz: train_images: shape [0 28 28], want N > 0"}},
		{"sparse label", npztest.Rewrite(t, real, map[string]any{"train_labels": fiveClass(trainLabels), "val_labels": sparseVal,
			"test_labels": fiveClass(make([][1]uint8, 156))}, ""), []string{"bad.npz: val_labels: example 17 has label 250", "sparse or corrupted"}},
		{"one-class training split", npztest.Rewrite(t, real, map[string]any{"train_labels": oneClass}, ""), []string{"bad.npz", "training split", "all of one class"}},
		{"validation split missing a class", npztest.Rewrite(t, real, map[string]any{"val_labels": noMalignantVal}, ""), []string{"bad.npz", "validation split has no example of class 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "bad.npz")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			err := run(context.Background(), []string{"-data", path, "-out", filepath.Join(dir, "study")}, &out)
			if err == nil {
				t.Fatalf("no error; output:\n%s", out.String())
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "no epoch completed") || strings.Contains(err.Error(), "panic") {
				t.Errorf("error from deep inside: %v", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "study", "results.jsonl")); err == nil {
				t.Error("a results file was started for a file that cannot be studied")
			}
		})
	}
	// A missing file names itself.
	err = run(context.Background(), []string{"-data", filepath.Join(t.TempDir(), "nope.npz")}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "nope.npz") {
		t.Errorf("missing file: error %v", err)
	}
}

// A test split missing a class leaves the study meaningful (accuracy still is), so it is a
// warning, printed and written into the report, not an error.
func TestMainJobWarnsAboutATestSplitMissingAClass(t *testing.T) {
	real, err := os.ReadFile(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	allBenign := make([][1]uint8, 156)
	for i := range allBenign {
		allBenign[i][0] = 1
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "nomalignanttest.npz")
	if err := os.WriteFile(path, npztest.Rewrite(t, real, map[string]any{"test_labels": allBenign}, ""), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // stop before the first cell: the checks run first
	var out bytes.Buffer
	if err := run(ctx, []string{"-data", path, "-out", filepath.Join(dir, "study")}, &out); err != nil {
		t.Fatal(err)
	}
	want := "the test split has no example of class 0"
	if !strings.Contains(out.String(), "warning: nomalignanttest.npz: "+want) {
		t.Errorf("no warning printed:\n%s", out.String())
	}
	report, err := os.ReadFile(filepath.Join(dir, "study", "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(report), want) {
		t.Errorf("report lacks the warning:\n%s", report)
	}
}
