package metrics

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
)

// breastTest returns the BreastMNIST test labels and, as a real but weak score,
// each image's mean intensity scaled to [0, 1].
func breastTest(t *testing.T) ([]int, []float64) {
	t.Helper()
	d, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	ts := d.Test
	const pixels = 28 * 28
	if ts.N != 156 || ts.ImageSize() != pixels || ts.LabelDim != 1 {
		t.Fatalf("breastmnist test split: %d images of %d pixels with %d labels each; want 156 of 784 with 1", ts.N, ts.ImageSize(), ts.LabelDim)
	}
	y := make([]int, ts.N)
	score := make([]float64, ts.N)
	for i := range y {
		y[i] = ts.Label(i)
		sum := 0
		for _, p := range ts.Image(i) {
			sum += int(p)
		}
		score[i] = float64(sum) / pixels
	}
	// Min-max scale to [0, 1] so the 0.5 threshold splits the set, then round to
	// 2 decimals to force many ties across classes.
	lo, hi := floats.Min(score), floats.Max(score)
	for i, s := range score {
		score[i] = math.Round((s-lo)/(hi-lo)*100) / 100
	}
	return y, score
}

// TestROCAUCRealData checks ROCAUC on the BreastMNIST test split against two
// independent references: the O(n²) pair count, and the trapezoidal area under
// gonum's stat.ROC curve.
func TestROCAUCRealData(t *testing.T) {
	labels, score := breastTest(t)
	pos := make([]bool, len(labels))
	nPos := 0
	for i, l := range labels {
		pos[i] = l == 1
		if pos[i] {
			nPos++
		}
	}
	if nPos != 114 {
		t.Fatalf("%d positives (normal/benign), want 114", nPos)
	}
	got, err := ROCAUC(score, pos)
	if err != nil {
		t.Fatal(err)
	}
	if want := naiveAUC(score, pos); math.Abs(got-want) > 1e-12 {
		t.Errorf("ROCAUC = %v, naive pair count %v", got, want)
	}
	y := append([]float64(nil), score...)
	classes := append([]bool(nil), pos...)
	stat.SortWeightedLabeled(y, classes, nil)
	tpr, fpr, _ := stat.ROC(nil, y, classes, nil)
	if want := integrate.Trapezoidal(fpr, tpr); math.Abs(got-want) > 1e-12 {
		t.Errorf("ROCAUC = %v, gonum ROC trapezoid %v", got, want)
	}
	t.Logf("BreastMNIST test, mean-intensity score: AUC %.4f, %d distinct scores", got, len(distinct(score)))

	// MedMNIST accuracy of [1-s, s]: threshold 0.5 on s, counted directly.
	scores := make([][]float64, len(score))
	correct := 0
	for i, s := range score {
		scores[i] = []float64{1 - s, s}
		if (s > 0.5) == pos[i] {
			correct++
		}
	}
	m, err := Compute(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	if correct == 0 || correct == len(labels) {
		t.Fatalf("degenerate fixture: %d of %d correct", correct, len(labels))
	}
	if want := float64(correct) / float64(len(labels)); m.ACC != want {
		t.Errorf("ACC = %v, direct count %v", m.ACC, want)
	}
	if m.AUC != got {
		t.Errorf("Compute AUC = %v, ROCAUC %v", m.AUC, got)
	}
}

func distinct(xs []float64) map[float64]bool {
	m := map[float64]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}
