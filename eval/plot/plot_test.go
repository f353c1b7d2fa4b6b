package plot_test

import (
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/plot"
	"gonum.org/v1/plot/vg"
)

// checkPNG decodes path and compares its pixel size with w x h at plot.DPI.
func checkPNG(t *testing.T, path string, w, h vg.Length) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	wantW := int(math.Ceil(w.Dots(plot.DPI)))
	wantH := int(math.Ceil(h.Dots(plot.DPI)))
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: %dx%d pixels, want %dx%d", path, b.Dx(), b.Dy(), wantW, wantH)
	}
}

func TestFiguresArePNGs(t *testing.T) {
	dir := t.TempDir()
	if wantW, wantH := int(math.Ceil(plot.Width.Dots(plot.DPI))), int(math.Ceil(plot.Height.Dots(plot.DPI))); wantW != 900 || wantH != 600 {
		t.Fatalf("figure is %dx%d pixels, want 900x600 (6x4 in at 150 dpi)", wantW, wantH)
	}
	le := filepath.Join(dir, "le.png")
	err := plot.LabelEfficiency(le, "t", "AUC", []plot.Series{
		{Name: "a", X: []float64{1, 0.01, 0.1}, Mean: []float64{0.9, 0.7, 0.8}, Lo: []float64{0.85, 0.6, 0.75}, Hi: []float64{0.95, 0.75, 0.82}},
		{Name: "b (no interval)", X: []float64{0.01, 1}, Mean: []float64{0.6, 0.8}},
	})
	if err != nil {
		t.Fatal(err)
	}
	checkPNG(t, le, plot.Width, plot.Height)

	roc := filepath.Join(dir, "roc.png")
	if err := plot.ROC(roc, "t", []plot.ROCCurve{{Name: "m", Labels: []int{0, 1, 0, 1}, Scores: []float64{0.1, 0.4, 0.35, 0.8}}}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, roc, plot.Width, plot.Height)

	tc := filepath.Join(dir, "tc.png")
	steps := []float64{0, 1, 2, 3}
	err = plot.TrainingCurves(tc, "t", []plot.Curve{
		{Name: "r1", Quantity: "loss", X: steps, Y: []float64{4, 3, 2.5, 2}},
		{Name: "r2", Quantity: "loss", X: steps, Y: []float64{4, 3.5, 3, 2.8}},
		{Name: "r1", Quantity: "effective rank", X: steps, Y: []float64{10, 12, 13, 13}},
	})
	if err != nil {
		t.Fatal(err)
	}
	w, h := plot.TrainingCurvesSize(2)
	if h != 2*plot.PanelHeight || w != plot.Width {
		t.Errorf("TrainingCurvesSize(2) = %v x %v, want %v x %v", w, h, plot.Width, 2*plot.PanelHeight)
	}
	checkPNG(t, tc, w, h)

	emb := filepath.Join(dir, "emb.png")
	feats := [][]float64{{0, 0, 1}, {1, 0, 0}, {0, 1, 0}, {1, 1, 1}, {2, 0, 1}}
	// Class "c" has no points: it is listed with n=0 rather than failing.
	if err := plot.Embedding2D(emb, "t", feats, []int{0, 1, 0, 1, 1}, []string{"a", "b", "c"}); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, emb, plot.Width, plot.Height)
}

// Six examples with two tied pairs. Hand-computed, thresholds from high to low
// (P = N = 3):
//
//	t = +Inf: TP 0 FP 0 -> (0, 0)
//	t = 0.9 : {1, 0}     -> TP 1 FP 1 -> (1/3, 1/3)   (the tie moves diagonally)
//	t = 0.7 : {1}        -> TP 2 FP 1 -> (1/3, 2/3)
//	t = 0.5 : {1, 0}     -> TP 3 FP 2 -> (2/3, 1)
//	t = 0.1 : {0}        -> TP 3 FP 3 -> (1, 1)
//
// Trapezoids: 1/18 + 0 + 5/18 + 6/18 = 2/3, the Mann-Whitney AUC (6 of 9 pairs).
func TestROCPointsWithTies(t *testing.T) {
	labels := []int{1, 0, 1, 0, 1, 0}
	scores := []float64{0.9, 0.9, 0.7, 0.5, 0.5, 0.1}
	fpr, tpr, thr, err := plot.ROCPoints(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	wantF := []float64{0, 1. / 3, 1. / 3, 2. / 3, 1}
	wantT := []float64{0, 1. / 3, 2. / 3, 1, 1}
	wantThr := []float64{math.Inf(1), 0.9, 0.7, 0.5, 0.1}
	if len(fpr) != len(wantF) || len(tpr) != len(wantT) || len(thr) != len(wantThr) {
		t.Fatalf("got %d/%d/%d points, want %d", len(fpr), len(tpr), len(thr), len(wantF))
	}
	for i := range wantF {
		if math.Abs(fpr[i]-wantF[i]) > 1e-15 || math.Abs(tpr[i]-wantT[i]) > 1e-15 || thr[i] != wantThr[i] {
			t.Errorf("point %d = (%v, %v) at %v, want (%v, %v) at %v", i, fpr[i], tpr[i], thr[i], wantF[i], wantT[i], wantThr[i])
		}
	}
	var area float64
	for i := 1; i < len(fpr); i++ {
		area += (fpr[i] - fpr[i-1]) * (tpr[i] + tpr[i-1]) / 2
	}
	auc, err := metrics.ROCAUC(scores, []bool{true, false, true, false, true, false})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(area-2./3) > 1e-12 || math.Abs(auc-2./3) > 1e-12 {
		t.Errorf("area %v, metrics.ROCAUC %v, want 2/3", area, auc)
	}
}

func TestPCA2(t *testing.T) {
	// Points on the line y = 2x: one direction, v1 = (1, 2)/√5, projections (t-2)√5.
	var line [][]float64
	for i := range 5 {
		line = append(line, []float64{float64(i), 2 * float64(i)})
	}
	coords, explained, err := plot.PCA2(line)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(explained[0]-1) > 1e-12 || math.Abs(explained[1]) > 1e-12 {
		t.Errorf("explained %v, want [1 0]", explained)
	}
	for i, c := range coords {
		if want := (float64(i) - 2) * math.Sqrt(5); math.Abs(c[0]-want) > 1e-12 || math.Abs(c[1]) > 1e-12 {
			t.Errorf("line point %d -> %v, want [%v 0]", i, c, want)
		}
	}

	// A cross: variances 8/3 along x and 2/3 along y (n-1 = 3), no covariance, so
	// explained = [0.8, 0.2] and the projections are x and y themselves.
	cross := [][]float64{{2, 0}, {-2, 0}, {0, 1}, {0, -1}}
	coords, explained, err = plot.PCA2(cross)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(explained[0]-0.8) > 1e-12 || math.Abs(explained[1]-0.2) > 1e-12 {
		t.Errorf("explained %v, want [0.8 0.2]", explained)
	}
	for i, c := range coords {
		// v2's largest entry is made positive, so PC2 = +y.
		if math.Abs(c[0]-cross[i][0]) > 1e-12 || math.Abs(c[1]-cross[i][1]) > 1e-12 {
			t.Errorf("cross point %d -> %v, want %v", i, c, cross[i])
		}
	}

	// One feature: the second coordinate and its share are 0.
	coords, explained, err = plot.PCA2([][]float64{{1}, {3}})
	if err != nil {
		t.Fatal(err)
	}
	if explained != [2]float64{1, 0} || coords[0] != [2]float64{-1, 0} || coords[1] != [2]float64{1, 0} {
		t.Errorf("1-D: coords %v explained %v, want [[-1 0] [1 0]] [1 0]", coords, explained)
	}
}

func TestBadInputs(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.png")
	x := []float64{0.01, 0.1}
	cases := []struct {
		name string
		want error
		err  error
	}{
		{"LE no series", plot.ErrEmpty, plot.LabelEfficiency(p, "", "", nil)},
		{"LE empty series", plot.ErrEmpty, plot.LabelEfficiency(p, "", "", []plot.Series{{Name: "a"}})},
		{"LE mean length", plot.ErrShape, plot.LabelEfficiency(p, "", "", []plot.Series{{X: x, Mean: []float64{1}}})},
		{"LE only Lo", plot.ErrShape, plot.LabelEfficiency(p, "", "", []plot.Series{{X: x, Mean: x, Lo: x}})},
		{"LE Hi length", plot.ErrShape, plot.LabelEfficiency(p, "", "", []plot.Series{{X: x, Mean: x, Lo: x, Hi: x[:1]}})},
		{"LE fraction 0", plot.ErrValue, plot.LabelEfficiency(p, "", "", []plot.Series{{X: []float64{0, 1}, Mean: x}})},
		{"LE percent not fraction", plot.ErrValue, plot.LabelEfficiency(p, "", "", []plot.Series{{X: []float64{10, 100}, Mean: x}})},
		{"LE NaN", plot.ErrValue, plot.LabelEfficiency(p, "", "", []plot.Series{{X: x, Mean: []float64{math.NaN(), 1}}})},
		{"LE Lo above Mean", plot.ErrValue, plot.LabelEfficiency(p, "", "", []plot.Series{{X: x, Mean: x, Lo: []float64{0.5, 0}, Hi: []float64{1, 1}}})},
		{"ROC none", plot.ErrEmpty, plot.ROC(p, "", nil)},
		{"ROC lengths", plot.ErrShape, plot.ROC(p, "", []plot.ROCCurve{{Labels: []int{0, 1}, Scores: []float64{1}}})},
		{"ROC label 2", plot.ErrValue, plot.ROC(p, "", []plot.ROCCurve{{Labels: []int{0, 2}, Scores: []float64{1, 2}}})},
		{"ROC one class", plot.ErrValue, plot.ROC(p, "", []plot.ROCCurve{{Labels: []int{1, 1}, Scores: []float64{1, 2}}})},
		{"ROC Inf", plot.ErrValue, plot.ROC(p, "", []plot.ROCCurve{{Labels: []int{0, 1}, Scores: []float64{1, math.Inf(1)}}})},
		{"TC none", plot.ErrEmpty, plot.TrainingCurves(p, "", nil)},
		{"TC empty", plot.ErrEmpty, plot.TrainingCurves(p, "", []plot.Curve{{Name: "a", Quantity: "loss"}})},
		{"TC lengths", plot.ErrShape, plot.TrainingCurves(p, "", []plot.Curve{{X: x, Y: x[:1]}})},
		{"Emb lengths", plot.ErrShape, plot.Embedding2D(p, "", [][]float64{{1}, {2}}, []int{0}, nil)},
		{"Emb one row", plot.ErrEmpty, plot.Embedding2D(p, "", [][]float64{{1}}, []int{0}, nil)},
		{"Emb ragged", plot.ErrShape, plot.Embedding2D(p, "", [][]float64{{1, 2}, {2}}, []int{0, 0}, nil)},
		{"Emb constant", plot.ErrValue, plot.Embedding2D(p, "", [][]float64{{1, 2}, {1, 2}}, []int{0, 0}, nil)},
		{"Emb label", plot.ErrValue, plot.Embedding2D(p, "", [][]float64{{1}, {2}}, []int{0, 1}, []string{"only"})},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("a failed call wrote %s", p)
	}
	// A missing directory is an error, not a panic.
	err := plot.ROC(filepath.Join(dir, "no", "such", "dir", "r.png"), "", []plot.ROCCurve{{Labels: []int{0, 1}, Scores: []float64{0, 1}}})
	if err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
