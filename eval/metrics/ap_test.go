package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveAP is the other classical form of step-wise AP: the mean over positives i
// of the precision at threshold s_i, counting every example scored >= s_i.
// O(n²), and independent of any sorting or tie grouping.
func naiveAP(score []float64, positive []bool) float64 {
	var sum float64
	var nPos int
	for i := range score {
		if !positive[i] {
			continue
		}
		nPos++
		var tp, all int
		for j := range score {
			if score[j] >= score[i] {
				all++
				if positive[j] {
					tp++
				}
			}
		}
		sum += float64(tp) / float64(all)
	}
	return sum / float64(nPos)
}

func TestAveragePrecisionHandCases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		score []float64
		pos   []bool
		want  float64
	}{
		// Thresholds 0.9, 0.8 (tie: 1 pos + 1 neg), 0.6 (tie: 1 pos + 1 neg), 0.3:
		// (R, P) = (1/3, 1), (2/3, 2/3), (1, 3/5), (1, 1/2) -> AP = (1 + 2/3 + 3/5)/3 = 34/45.
		{"6 with ties", []float64{0.9, 0.8, 0.8, 0.6, 0.6, 0.3}, []bool{true, false, true, true, false, false}, 34.0 / 45},
		// Same data, tied examples listed in the other order: same AP.
		{"6 with ties reordered", []float64{0.3, 0.6, 0.6, 0.8, 0.8, 0.9}, []bool{false, true, false, true, false, true}, 34.0 / 45},
		// scikit-learn's average_precision_score doc example, 0.83...: (R, P) = (1/2, 1), (1/2, 1/2), (1, 2/3).
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.5 + 0.5*2.0/3},
		// Everything tied: one threshold, AP = positive rate.
		{"all tied", []float64{0.2, 0.2, 0.2, 0.2, 0.2}, []bool{true, false, true, false, false}, 0.4},
		{"perfect", []float64{-3, -1, 2, 5}, []bool{false, false, true, true}, 1},
		// Inverted: positives ranked last, (R, P) = (1/2, 1/3), (1, 2/4).
		{"inverted", []float64{0.1, 0.2, 0.3, 0.9}, []bool{true, true, false, false}, 0.5/3 + 0.5*0.5},
		{"no negatives", []float64{0.1, 0.5}, []bool{true, true}, 1},
	} {
		got, err := AveragePrecision(tc.score, tc.pos)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: AveragePrecision = %v, want %v", tc.name, got, tc.want)
		}
		if naive := naiveAP(tc.score, tc.pos); math.Abs(naive-tc.want) > 1e-15 {
			t.Errorf("%s: naive reference = %v, want %v (test is wrong)", tc.name, naive, tc.want)
		}
	}
}

func TestAveragePrecisionRandomTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := 1 + rng.IntN(50)
		score := make([]float64, n)
		pos := make([]bool, n)
		for i := range score {
			score[i] = math.Round(rng.Float64()*8) / 8
			pos[i] = rng.Float64() < 0.2+0.6*score[i]
		}
		pos[0] = true
		got, err := AveragePrecision(score, pos)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveAP(score, pos); math.Abs(got-want) > 1e-12 {
			t.Fatalf("AP = %v, naive %v on %v %v", got, want, score, pos)
		}
	}
}

func TestAveragePrecisionDegenerate(t *testing.T) {
	if got, err := AveragePrecision([]float64{0.1, 0.2}, []bool{false, false}); err != nil || !math.IsNaN(got) {
		t.Errorf("no positives: %v, %v; want NaN, nil", got, err)
	}
	for name, tc := range map[string]struct {
		score []float64
		pos   []bool
		want  error
	}{
		"empty":    {nil, nil, ErrEmpty},
		"mismatch": {[]float64{1, 2}, []bool{true}, ErrShape},
		"NaN":      {[]float64{1, math.NaN()}, []bool{true, false}, ErrScore},
		"Inf":      {[]float64{math.Inf(1), 0}, []bool{true, false}, ErrScore},
	} {
		if _, err := AveragePrecision(tc.score, tc.pos); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
	}
}

func TestMacroAveragePrecision(t *testing.T) {
	// scikit-learn's average_precision_score doc example for multi-class, 0.77...
	// Class 0: scores 0.7(+) then 0.4 (1+, 1-) -> 1/2 + 1/2·2/3 = 5/6.
	// Class 1: 0.8(+), 0.4(-), 0.3 (1+, 1-) -> 1/2 + 1/2·2/4 = 3/4.
	// Class 2: 0.7(+), 0.5(-), 0.3(-), 0.2(+) -> 1/2 + 1/2·2/4 = 3/4.
	labels := []int{0, 0, 1, 1, 2, 2}
	scores := [][]float64{{0.7, 0.2, 0.1}, {0.4, 0.3, 0.3}, {0.1, 0.8, 0.1}, {0.2, 0.3, 0.5}, {0.4, 0.4, 0.2}, {0.1, 0.2, 0.7}}
	got, err := MacroAveragePrecision(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	if want := (5.0/6 + 0.75 + 0.75) / 3; math.Abs(got-want) > 1e-15 {
		t.Errorf("MacroAveragePrecision = %v, want %v", got, want)
	}
	per, _ := OneVsRestAveragePrecision(labels, scores)
	if len(per) != 3 || math.Abs(per[0]-5.0/6) > 1e-15 || per[1] != 0.75 || per[2] != 0.75 {
		t.Errorf("OneVsRestAveragePrecision = %v, want [5/6 3/4 3/4]", per)
	}

	// Binary: the positive (last) column only, whether given as 2 columns or 1.
	bl := []int{0, 0, 1, 1}
	two := [][]float64{{0.9, 0.1}, {0.6, 0.4}, {0.65, 0.35}, {0.2, 0.8}}
	one := [][]float64{{0.1}, {0.4}, {0.35}, {0.8}}
	want := 0.5 + 0.5*2.0/3 // the sklearn doc example above
	for name, s := range map[string][][]float64{"two columns": two, "one column": one} {
		got, err := MacroAveragePrecision(bl, s)
		if err != nil || math.Abs(got-want) > 1e-15 {
			t.Errorf("%s: %v, %v; want %v", name, got, err, want)
		}
	}
	// An absent class makes the macro average NaN.
	if got, err := MacroAveragePrecision([]int{0, 0, 1}, [][]float64{{0.5, 0.3, 0.2}, {0.5, 0.3, 0.2}, {0.1, 0.8, 0.1}}); err != nil || !math.IsNaN(got) {
		t.Errorf("absent class: %v, %v; want NaN, nil", got, err)
	}
	if _, err := MacroAveragePrecision([]int{0, 3}, [][]float64{{0.5, 0.5}, {0.5, 0.5}}); !errors.Is(err, ErrLabel) {
		t.Errorf("label out of range: %v, want ErrLabel", err)
	}
}
