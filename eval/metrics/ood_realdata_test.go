package metrics

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
)

// pooled returns the images of a 28x28 split average-pooled 7x7 -> 4x4, in [0, 1],
// as 16-dimensional features, and the labels.
func pooled(t *testing.T, s *data.Split) ([][]float64, []int) {
	t.Helper()
	if s.Height != 28 || s.Width != 28 || s.Channels != 1 {
		t.Fatalf("split of %dx%dx%d images, want 28x28x1", s.Height, s.Width, s.Channels)
	}
	feats := make([][]float64, s.N)
	labels := make([]int, s.N)
	for i := range feats {
		img := s.Image(i)
		f := make([]float64, 16)
		for y := range 28 {
			for x := range 28 {
				f[(y/7)*4+x/7] += float64(img[y*28+x]) / (255 * 49)
			}
		}
		feats[i], labels[i] = f, s.Label(i)
	}
	return feats, labels
}

// TestMahalanobisRealData fits the detector on BreastMNIST (ultrasound) training
// images and scores BreastMNIST test images as in-distribution against
// PneumoniaMNIST (chest X-ray) test images as OOD. The scores are checked against
// a direct computation with a general matrix inverse of Σ + λI.
func TestMahalanobisRealData(t *testing.T) {
	breast, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	pneumonia, err := data.LoadMedMNIST(testdata.Path(t, "pneumoniamnist_imbalanced.npz"))
	if err != nil {
		t.Fatal(err)
	}
	trainX, trainY := pooled(t, breast.Train)
	inX, _ := pooled(t, breast.Test)
	outX, _ := pooled(t, pneumonia.Test)
	m, err := FitMahalanobis(trainX, trainY)
	if err != nil {
		t.Fatal(err)
	}

	// Reference: Σ from the definition, inverted by LU, quadratic forms by loops.
	const d = 16
	sigma := mat.NewDense(d, d, nil)
	for i, x := range trainX {
		mu := m.Means[trainY[i]]
		for a := range d {
			for b := range d {
				sigma.Set(a, b, sigma.At(a, b)+(x[a]-mu[a])*(x[b]-mu[b])/float64(len(trainX)))
			}
		}
	}
	var trace float64
	for a := range d {
		trace += sigma.At(a, a)
	}
	lambda := MahalanobisRidge * trace / d
	for a := range d {
		sigma.Set(a, a, sigma.At(a, a)+lambda)
	}
	var inv mat.Dense
	if err := inv.Inverse(sigma); err != nil {
		t.Fatal(err)
	}
	direct := func(x []float64) float64 {
		best := math.Inf(1)
		for _, mu := range m.Means {
			var q float64
			for a := range d {
				for b := range d {
					q += (x[a] - mu[a]) * inv.At(a, b) * (x[b] - mu[b])
				}
			}
			best = math.Min(best, q)
		}
		return -best
	}
	inS, outS := m.Score(inX), m.Score(outX)
	for i, x := range inX[:20] {
		if want := direct(x); math.Abs(inS[i]-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("in-distribution image %d: score %v, direct %v", i, inS[i], want)
		}
	}
	for i, x := range outX[:20] {
		if want := direct(x); math.Abs(outS[i]-want) > 1e-8*math.Max(1, math.Abs(want)) {
			t.Errorf("OOD image %d: score %v, direct %v", i, outS[i], want)
		}
	}
	auroc, err := OODAUROC(inS, outS)
	if err != nil {
		t.Fatal(err)
	}
	fpr, _ := FPRAtTPR(inS, outS, 0.95)
	t.Logf("BreastMNIST (in, %d) vs PneumoniaMNIST (OOD, %d), Mahalanobis on 4x4-pooled pixels: AUROC %.4f, FPR@95%%TPR %.4f",
		len(inS), len(outS), auroc, fpr)
	// Ultrasound and chest X-ray differ grossly in their intensity layout.
	if auroc < 0.9 {
		t.Errorf("AUROC %v: the detector does not separate two imaging modalities", auroc)
	}
}
