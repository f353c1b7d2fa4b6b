package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// naiveAUC counts every (positive, negative) pair: 1 when the positive scores
// higher, 1/2 on a tie. O(P N), the definition itself.
func naiveAUC(score []float64, positive []bool) float64 {
	var sum float64
	var pairs int
	for i := range score {
		if !positive[i] {
			continue
		}
		for j := range score {
			if positive[j] {
				continue
			}
			pairs++
			switch {
			case score[i] > score[j]:
				sum++
			case score[i] == score[j]:
				sum += 0.5
			}
		}
	}
	return sum / float64(pairs)
}

func TestROCAUCHandCases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		score []float64
		pos   []bool
		want  float64
	}{
		// scikit-learn's roc_auc_score doc example: pairs (0.35>0.1), (0.35<0.4), (0.8>0.1), (0.8>0.4) -> 3/4.
		{"sklearn doc", []float64{0.1, 0.4, 0.35, 0.8}, []bool{false, false, true, true}, 0.75},
		// pos {0.5, 0.7}, neg {0.5, 0.3}: 0.5 (tie) + 1 + 1 + 1 = 3.5 of 4 pairs.
		{"tie across classes", []float64{0.5, 0.7, 0.5, 0.3}, []bool{true, true, false, false}, 0.875},
		{"all tied", []float64{0.2, 0.2, 0.2, 0.2, 0.2}, []bool{true, false, true, false, false}, 0.5},
		{"perfect", []float64{0.1, 0.2, 0.3, 0.9, 0.95}, []bool{false, false, false, true, true}, 1},
		{"inverted", []float64{0.1, 0.2, 0.3, 0.9, 0.95}, []bool{true, true, true, false, false}, 0},
		// Logits are fine here: pos {-1, 3}, neg {-1, -2, 0}: (-1 vs -1) 0.5, (-1>-2) 1, (-1<0) 0, 3 beats all 3 -> 4.5/6.
		{"logits", []float64{-1, 3, -1, -2, 0}, []bool{true, true, false, false, false}, 0.75},
	} {
		got, err := ROCAUC(tc.score, tc.pos)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: ROCAUC = %v, want %v", tc.name, got, tc.want)
		}
		if naive := naiveAUC(tc.score, tc.pos); math.Abs(naive-tc.want) > 1e-15 {
			t.Errorf("%s: naive reference = %v, want %v (test is wrong)", tc.name, naive, tc.want)
		}
	}
}

// TestROCAUCRandomTies compares against the pair count on random data with heavy
// ties (scores rounded to one decimal).
func TestROCAUCRandomTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 2 + rng.IntN(60)
		score := make([]float64, n)
		pos := make([]bool, n)
		for i := range score {
			score[i] = math.Round(rng.Float64()*10) / 10
			pos[i] = rng.Float64() < 0.3+0.4*score[i]
		}
		pos[0], pos[1] = true, false // both classes present
		got, err := ROCAUC(score, pos)
		if err != nil {
			t.Fatal(err)
		}
		if want := naiveAUC(score, pos); math.Abs(got-want) > 1e-12 {
			t.Fatalf("trial %d (n=%d): ROCAUC = %v, naive = %v", trial, n, got, want)
		}
	}
}

func TestROCAUCDegenerate(t *testing.T) {
	got, err := ROCAUC([]float64{0.1, 0.9}, []bool{true, true})
	if err != nil || !math.IsNaN(got) {
		t.Errorf("only positives: got %v, %v; want NaN, nil", got, err)
	}
	got, err = ROCAUC([]float64{0.1, 0.9}, []bool{false, false})
	if err != nil || !math.IsNaN(got) {
		t.Errorf("only negatives: got %v, %v; want NaN, nil", got, err)
	}
	if _, err := ROCAUC(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: err = %v, want ErrEmpty", err)
	}
	if _, err := ROCAUC([]float64{0.1}, []bool{true, false}); !errors.Is(err, ErrShape) {
		t.Errorf("length mismatch: err = %v, want ErrShape", err)
	}
	if _, err := ROCAUC([]float64{0.1, math.NaN()}, []bool{true, false}); !errors.Is(err, ErrScore) {
		t.Errorf("NaN score: err = %v, want ErrScore", err)
	}
	if _, err := ROCAUC([]float64{0.1, math.Inf(1)}, []bool{true, false}); !errors.Is(err, ErrScore) {
		t.Errorf("Inf score: err = %v, want ErrScore", err)
	}
}

func TestAUCBinaryUsesLastColumn(t *testing.T) {
	labels := []int{0, 0, 1, 1}
	// Column 0 is constant (would give 0.5) and deliberately not 1-col1: MedMNIST uses the last column only.
	scores := [][]float64{{0.5, 0.1}, {0.5, 0.4}, {0.5, 0.35}, {0.5, 0.8}}
	got, err := AUC(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	if got != 0.75 {
		t.Errorf("AUC = %v, want 0.75 (sklearn doc example on the last column)", got)
	}
	// A single sigmoid column is the positive-class probability.
	single := [][]float64{{0.1}, {0.4}, {0.35}, {0.8}}
	if got, err := AUC(labels, single); err != nil || got != 0.75 {
		t.Errorf("single column AUC = %v, %v; want 0.75", got, err)
	}
	// Perfect and inverted classifiers.
	if got, _ := AUC(labels, [][]float64{{0.9, 0.1}, {0.8, 0.2}, {0.3, 0.7}, {0.1, 0.9}}); got != 1 {
		t.Errorf("perfect: AUC = %v, want 1", got)
	}
	if got, _ := AUC(labels, [][]float64{{0.1, 0.9}, {0.3, 0.7}, {0.8, 0.2}, {0.9, 0.1}}); got != 0 {
		t.Errorf("inverted: AUC = %v, want 0", got)
	}
}

func TestAUCMultiClassMacroOvR(t *testing.T) {
	labels := []int{0, 1, 2, 2, 1, 0, 2, 1}
	scores := [][]float64{
		{0.6, 0.2, 0.2},
		{0.3, 0.4, 0.3},
		{0.2, 0.4, 0.4}, // ties within the row and across examples
		{0.1, 0.3, 0.6},
		{0.4, 0.4, 0.2},
		{0.4, 0.3, 0.3},
		{0.3, 0.3, 0.4},
		{0.2, 0.2, 0.6}, // a class-1 example scored as class 2
	}
	per, err := OneVsRestAUC(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for k := range 3 {
		col := make([]float64, len(labels))
		pos := make([]bool, len(labels))
		for i := range labels {
			col[i], pos[i] = scores[i][k], labels[i] == k
		}
		want := naiveAUC(col, pos)
		if math.Abs(per[k]-want) > 1e-15 {
			t.Errorf("class %d: OvR AUC = %v, naive %v", k, per[k], want)
		}
		sum += want
	}
	// Class 0 by hand: positives {0.6, 0.4}, negatives {0.3,0.2,0.1,0.4,0.3,0.2}:
	// 0.6 beats all 6; 0.4 beats 5 and ties 1 -> (6 + 5.5) / 12.
	if want := 11.5 / 12; math.Abs(per[0]-want) > 1e-15 {
		t.Errorf("class 0: OvR AUC = %v, hand %v", per[0], want)
	}
	got, err := AUC(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	if want := sum / 3; math.Abs(got-want) > 1e-15 {
		t.Errorf("macro AUC = %v, want %v", got, want)
	}
}

func TestAUCClassAbsentIsNaN(t *testing.T) {
	// Binary with one class only.
	got, err := AUC([]int{1, 1, 1}, [][]float64{{0.2, 0.8}, {0.4, 0.6}, {0.9, 0.1}})
	if err != nil || !math.IsNaN(got) {
		t.Errorf("single class binary: AUC = %v, %v; want NaN, nil", got, err)
	}
	// Three classes, class 2 absent: macro average is NaN, not the mean of the other two.
	labels := []int{0, 1, 0, 1}
	scores := [][]float64{{0.7, 0.2, 0.1}, {0.2, 0.7, 0.1}, {0.6, 0.3, 0.1}, {0.3, 0.6, 0.1}}
	got, err = AUC(labels, scores)
	if err != nil || !math.IsNaN(got) {
		t.Errorf("absent class: AUC = %v, %v; want NaN, nil", got, err)
	}
	per, _ := OneVsRestAUC(labels, scores)
	if per[0] != 1 || per[1] != 1 || !math.IsNaN(per[2]) {
		t.Errorf("absent class: per-class AUC = %v, want [1 1 NaN]", per)
	}
}

func TestScoresMalformed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels []int
		scores [][]float64
		want   error
	}{
		{"empty", nil, nil, ErrEmpty},
		{"length mismatch", []int{0, 1}, [][]float64{{0.5, 0.5}}, ErrShape},
		{"ragged", []int{0, 1, 2}, [][]float64{{0.2, 0.3, 0.5}, {0.5, 0.5}, {0.1, 0.1, 0.8}}, ErrShape},
		{"no columns", []int{0}, [][]float64{{}}, ErrShape},
		{"label too big", []int{0, 3, 1}, [][]float64{{0.2, 0.3, 0.5}, {0.2, 0.3, 0.5}, {0.2, 0.3, 0.5}}, ErrLabel},
		{"negative label", []int{-1, 1}, [][]float64{{0.5, 0.5}, {0.5, 0.5}}, ErrLabel},
		{"label 2 with single column", []int{0, 2}, [][]float64{{0.1}, {0.9}}, ErrLabel},
		{"NaN score", []int{0, 1}, [][]float64{{0.5, math.NaN()}, {0.5, 0.5}}, ErrScore},
		{"logit", []int{0, 1}, [][]float64{{-2.3, 1.2}, {0.5, 0.5}}, ErrScore},
	} {
		for fn, f := range map[string]func([]int, [][]float64) error{
			"AUC":     func(l []int, s [][]float64) error { _, err := AUC(l, s); return err },
			"ACC":     func(l []int, s [][]float64) error { _, err := ACC(l, s); return err },
			"Compute": func(l []int, s [][]float64) error { _, err := Compute(l, s); return err },
		} {
			if err := f(tc.labels, tc.scores); !errors.Is(err, tc.want) {
				t.Errorf("%s: %s error = %v, want %v", tc.name, fn, err, tc.want)
			}
		}
	}
}
