package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestECEHandCase(t *testing.T) {
	// 10 bins; confidences on bin edges check that bins are (lo, hi].
	//   ex  scores             label  pred  conf  bin
	//   0   .9  .05 .05        0      0     .9    (.8, .9]  correct
	//   1   .85 .1  .05        1      0     .85   (.8, .9]  wrong
	//   2   .2  .5  .3         1      1     .5    (.4, .5]  correct
	//   3   .3  .3  .4         0      2     .4    (.3, .4]  wrong
	//   4   .1  .15 .75        2      2     .75   (.7, .8]  correct
	// ECE = 2/5·|1/2 - .875| + 1/5·|1 - .5| + 1/5·|0 - .4| + 1/5·|1 - .75| = .15 + .1 + .08 + .05 = .38
	labels := []int{0, 1, 1, 0, 2}
	scores := [][]float64{{0.9, 0.05, 0.05}, {0.85, 0.1, 0.05}, {0.2, 0.5, 0.3}, {0.3, 0.3, 0.4}, {0.1, 0.15, 0.75}}
	got, err := ECE(labels, scores, 10)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-0.38) > 1e-12 {
		t.Errorf("ECE = %v, want 0.38", got)
	}
	cb, _ := Calibration(labels, scores, 10)
	wantCount := []int{0, 0, 0, 1, 1, 0, 0, 1, 2, 0}
	for b, c := range cb {
		if c.Count != wantCount[b] {
			t.Errorf("bin %d (%v, %v] holds %d, want %d", b, c.Lo, c.Hi, c.Count, wantCount[b])
		}
		if c.Count == 0 && !(math.IsNaN(c.Accuracy) && math.IsNaN(c.Confidence)) {
			t.Errorf("empty bin %d: accuracy %v confidence %v, want NaN", b, c.Accuracy, c.Confidence)
		}
	}
	if cb[8].Accuracy != 0.5 || math.Abs(cb[8].Confidence-0.875) > 1e-15 {
		t.Errorf("bin 8: %+v, want accuracy 0.5 confidence 0.875", cb[8])
	}

	// One sigmoid column, 2 bins: p = .8 -> class 1 conf .8 (correct), p = .3 -> class 0
	// conf .7 (wrong), p = .5 -> class 0 conf .5 (correct, bin [0, .5]).
	// ECE = 2/3·|1/2 - .75| + 1/3·|1 - .5| = 1/3.
	got, err = ECE([]int{1, 1, 0}, [][]float64{{0.8}, {0.3}, {0.5}}, 2)
	if err != nil || math.Abs(got-1.0/3) > 1e-15 {
		t.Errorf("sigmoid ECE = %v, %v; want 1/3", got, err)
	}
}

// naiveECE bins by comparing with the edges directly.
func naiveECE(labels []int, scores [][]float64, bins int) float64 {
	var ece float64
	for b := range bins {
		lo, hi := float64(b)/float64(bins), float64(b+1)/float64(bins)
		var n, correct int
		var conf float64
		for i, row := range scores {
			best := 0
			for k := range row {
				if row[k] > row[best] {
					best = k
				}
			}
			c := row[best]
			if (c > lo || b == 0) && c <= hi {
				n++
				conf += c
				if best == labels[i] {
					correct++
				}
			}
		}
		if n > 0 {
			ece += float64(n) / float64(len(labels)) * math.Abs(float64(correct)/float64(n)-conf/float64(n))
		}
	}
	return ece
}

func TestECERandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		n := 1 + rng.IntN(100)
		labels := make([]int, n)
		scores := make([][]float64, n)
		for i := range scores {
			labels[i] = rng.IntN(3)
			// Probabilities on a 1/20 grid, so many land on bin edges.
			a, b := rng.IntN(21), rng.IntN(21)
			a, b = min(a, b), max(a, b)
			scores[i] = []float64{float64(a) / 20, float64(b-a) / 20, float64(20-b) / 20}
		}
		for _, bins := range []int{1, 4, 10, 15} {
			got, err := ECE(labels, scores, bins)
			if err != nil {
				t.Fatal(err)
			}
			if want := naiveECE(labels, scores, bins); math.Abs(got-want) > 1e-12 {
				t.Fatalf("bins %d: ECE = %v, naive %v", bins, got, want)
			}
		}
	}
}

func TestECEErrors(t *testing.T) {
	if _, err := ECE([]int{0}, [][]float64{{0.5, 0.5}}, 0); !errors.Is(err, ErrParam) {
		t.Errorf("0 bins: %v, want ErrParam", err)
	}
	if _, err := ECE([]int{0}, [][]float64{{1.5, -0.5}}, 10); !errors.Is(err, ErrScore) {
		t.Errorf("not probabilities: %v, want ErrScore", err)
	}
	if _, err := ECE(nil, nil, 10); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v, want ErrEmpty", err)
	}
}
