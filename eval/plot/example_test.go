package plot_test

import (
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/plot"
)

// Draws the four figures from numbers computed here on BreastMNIST's raw pixels
// (no network): a nearest-centroid classifier trained on 1%, 10% and 100% of the
// labels (three seeds each, band = min..max), its ROC beside the mean intensity
// as a score, a logistic regression's training loss, and the PCA of the pixels.
func Example() {
	dir, err := os.MkdirTemp("", "medssl-plot")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := drawAll(dir); err != nil {
		log.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.png"))
	for _, f := range files {
		fmt.Println(filepath.Base(f))
	}
	// Output:
	// embedding.png
	// label_efficiency.png
	// roc.png
	// training.png
}

// drawAll computes the example's numbers and writes its four PNGs into dir.
func drawAll(dir string) error {
	ds, err := data.BreastMNIST()
	if err != nil {
		return err
	}
	test := ds.Test
	pixels := func(s *data.Split) [][]float64 {
		out := make([][]float64, s.N)
		for i := range out {
			img := s.Image(i)
			out[i] = make([]float64, len(img))
			for j, v := range img {
				out[i][j] = float64(v) / 255
			}
		}
		return out
	}
	testX := pixels(test)
	testY := make([]int, test.N)
	for i := range testY {
		testY[i] = test.Label(i)
	}

	// Label efficiency of a nearest-centroid classifier (score = distance to the
	// class-0 centroid minus distance to the class-1 centroid).
	fractions := []float64{0.01, 0.1, 1}
	arm := plot.Series{Name: "nearest centroid (pixels)", X: fractions}
	var fullScores []float64
	for _, f := range fractions {
		lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
		for seed := range int64(3) {
			sub, err := data.LabelFraction(ds.Train, f, seed)
			if err != nil {
				return err
			}
			scores := centroidScores(pixels(sub), sub, testX)
			auc, err := metrics.ROCAUC(scores, positives(testY))
			if err != nil {
				return err
			}
			lo, hi, sum = math.Min(lo, auc), math.Max(hi, auc), sum+auc
			if f == 1 {
				fullScores = scores
			}
		}
		arm.Mean, arm.Lo, arm.Hi = append(arm.Mean, sum/3), append(arm.Lo, lo), append(arm.Hi, hi)
	}
	if err := plot.LabelEfficiency(filepath.Join(dir, "label_efficiency.png"),
		"BreastMNIST test, 3 seeds (band: min-max)", "ROC AUC", []plot.Series{arm}); err != nil {
		return err
	}

	meanIntensity := make([]float64, test.N)
	for i, row := range testX {
		for _, v := range row {
			meanIntensity[i] += v / float64(len(row))
		}
	}
	if err := plot.ROC(filepath.Join(dir, "roc.png"), "BreastMNIST test", []plot.ROCCurve{
		{Name: "nearest centroid", Labels: testY, Scores: fullScores},
		{Name: "mean intensity", Labels: testY, Scores: meanIntensity},
	}); err != nil {
		return err
	}

	// Logistic regression on the pixels by full-batch gradient descent.
	trainX := pixels(ds.Train)
	w := make([]float64, len(trainX[0]))
	var b float64
	loss := plot.Curve{Name: "logistic regression", Quantity: "cross-entropy"}
	norm := plot.Curve{Name: "logistic regression", Quantity: "weight norm"}
	for step := range 60 {
		gw, gb, l := make([]float64, len(w)), 0.0, 0.0
		for i, x := range trainX {
			z := b
			for j, v := range x {
				z += w[j] * v
			}
			p := 1 / (1 + math.Exp(-z))
			y := float64(ds.Train.Label(i))
			l -= y*math.Log(p+1e-12) + (1-y)*math.Log(1-p+1e-12)
			for j, v := range x {
				gw[j] += (p - y) * v
			}
			gb += p - y
		}
		n := float64(len(trainX))
		var ss float64
		for j := range w {
			w[j] -= 0.05 * gw[j] / n
			ss += w[j] * w[j]
		}
		b -= 0.05 * gb / n
		loss.X, loss.Y = append(loss.X, float64(step)), append(loss.Y, l/n)
		norm.X, norm.Y = append(norm.X, float64(step)), append(norm.Y, math.Sqrt(ss))
	}
	if err := plot.TrainingCurves(filepath.Join(dir, "training.png"), "BreastMNIST train", []plot.Curve{loss, norm}); err != nil {
		return err
	}

	return plot.Embedding2D(filepath.Join(dir, "embedding.png"), "BreastMNIST test pixels",
		testX, testY, []string{"malignant", "normal/benign"})
}

// centroidScores returns, for each query, |q - c0|² - |q - c1|²: larger means
// closer to class 1's centroid.
func centroidScores(x [][]float64, s *data.Split, queries [][]float64) []float64 {
	var c [2][]float64
	var n [2]float64
	for k := range c {
		c[k] = make([]float64, len(x[0]))
	}
	for i, row := range x {
		k := s.Label(i)
		n[k]++
		for j, v := range row {
			c[k][j] += v
		}
	}
	for k := range c {
		for j := range c[k] {
			c[k][j] /= n[k]
		}
	}
	out := make([]float64, len(queries))
	for i, q := range queries {
		for j, v := range q {
			out[i] += (v-c[0][j])*(v-c[0][j]) - (v-c[1][j])*(v-c[1][j])
		}
	}
	return out
}

func positives(labels []int) []bool {
	out := make([]bool, len(labels))
	for i, l := range labels {
		out[i] = l == 1
	}
	return out
}
