package metrics

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestPredictMedMNISTRule(t *testing.T) {
	// Binary: strictly greater than 0.5 on the last column; 0.5 itself is class 0.
	pred, err := Predict([][]float64{{0.4, 0.6}, {0.5, 0.5}, {0.9, 0.1}, {0.2, 0.51}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 0, 0, 1}; !slices.Equal(pred, want) {
		t.Errorf("binary Predict = %v, want %v", pred, want)
	}
	pred, _ = Predict([][]float64{{0.5}, {0.7}})
	if want := []int{0, 1}; !slices.Equal(pred, want) {
		t.Errorf("single-column Predict = %v, want %v", pred, want)
	}
	// Multi-class: argmax, first maximum on ties (numpy.argmax).
	pred, _ = Predict([][]float64{{0.2, 0.5, 0.3}, {0.4, 0.4, 0.2}, {0.3, 0.3, 0.4}, {0.1, 0.45, 0.45}})
	if want := []int{1, 0, 2, 1}; !slices.Equal(pred, want) {
		t.Errorf("multi-class Predict = %v, want %v", pred, want)
	}
}

func TestACC(t *testing.T) {
	labels := []int{1, 0, 0, 1, 1}
	scores := [][]float64{{0.4, 0.6}, {0.5, 0.5}, {0.3, 0.7}, {0.6, 0.4}, {0.0, 1.0}}
	// Predictions 1,0,1,0,1 -> correct at 0,1,4: 3/5.
	got, err := ACC(labels, scores)
	if err != nil || got != 0.6 {
		t.Errorf("ACC = %v, %v; want 0.6", got, err)
	}
}

// handCase is a 3-class example with a hand-worked confusion matrix:
//
//	true\pred  0  1  2
//	0          3  1  0     (4 examples)
//	1          1  2  1     (4 examples)
//	2          0  0  2     (2 examples)
var handCase = struct{ labels, pred []int }{
	labels: []int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2},
	pred:   []int{0, 0, 0, 1, 0, 1, 1, 2, 2, 2},
}

func TestConfusionSensitivitySpecificity(t *testing.T) {
	cm, err := Confusion(handCase.labels, handCase.pred, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{3, 1, 0}, {1, 2, 1}, {0, 0, 2}}
	for i := range want {
		if !slices.Equal(cm[i], want[i]) {
			t.Fatalf("confusion = %v, want %v", cm, want)
		}
	}
	// Class 0: TP 3, FN 1, FP 1, TN 5.  Class 1: TP 2, FN 2, FP 1, TN 5.  Class 2: TP 2, FN 0, FP 1, TN 7.
	sens, _ := Sensitivity(handCase.labels, handCase.pred, 3)
	spec, _ := Specificity(handCase.labels, handCase.pred, 3)
	wantSens := []float64{3.0 / 4, 2.0 / 4, 2.0 / 2}
	wantSpec := []float64{5.0 / 6, 5.0 / 6, 7.0 / 8}
	for k := range 3 {
		if math.Abs(sens[k]-wantSens[k]) > 1e-15 || math.Abs(spec[k]-wantSpec[k]) > 1e-15 {
			t.Errorf("class %d: sensitivity %v specificity %v, want %v %v", k, sens[k], spec[k], wantSens[k], wantSpec[k])
		}
	}
	// F1 = 2TP/(2TP+FP+FN): 6/8, 4/7, 4/5.
	f1, _ := F1(handCase.labels, handCase.pred, 3)
	wantF1 := []float64{6.0 / 8, 4.0 / 7, 4.0 / 5}
	for k := range 3 {
		if math.Abs(f1[k]-wantF1[k]) > 1e-15 {
			t.Errorf("class %d: F1 %v, want %v", k, f1[k], wantF1[k])
		}
	}
	macro, _ := MacroF1(handCase.labels, handCase.pred, 3)
	if want := (6.0/8 + 4.0/7 + 4.0/5) / 3; math.Abs(macro-want) > 1e-15 {
		t.Errorf("MacroF1 = %v, want %v", macro, want)
	}
	bacc, _ := BalancedAccuracy(handCase.labels, handCase.pred, 3)
	if want := (0.75 + 0.5 + 1) / 3; math.Abs(bacc-want) > 1e-15 {
		t.Errorf("BalancedAccuracy = %v, want %v", bacc, want)
	}
	acc, _ := Accuracy(handCase.labels, handCase.pred)
	if acc != 0.7 {
		t.Errorf("Accuracy = %v, want 0.7", acc)
	}
}

// TestF1AgainstPrecisionRecall checks F1 against its other definition, the
// harmonic mean of precision TP/(TP+FP) and recall TP/(TP+FN), computed from
// the raw example lists.
func TestF1AgainstPrecisionRecall(t *testing.T) {
	f1, _ := F1(handCase.labels, handCase.pred, 3)
	for k := range 3 {
		var tp, predK, trueK float64
		for i := range handCase.labels {
			if handCase.pred[i] == k {
				predK++
			}
			if handCase.labels[i] == k {
				trueK++
				if handCase.pred[i] == k {
					tp++
				}
			}
		}
		p, r := tp/predK, tp/trueK
		if want := 2 * p * r / (p + r); math.Abs(f1[k]-want) > 1e-15 {
			t.Errorf("class %d: F1 %v, harmonic mean %v", k, f1[k], want)
		}
	}
}

func TestBalancedAccuracyImbalanced(t *testing.T) {
	// 8 negatives, 2 positives; always predicting the majority gives ACC 0.8 but BACC 0.5.
	labels := []int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}
	majority := make([]int, 10)
	acc, _ := Accuracy(labels, majority)
	bacc, _ := BalancedAccuracy(labels, majority, 2)
	if acc != 0.8 || bacc != 0.5 {
		t.Errorf("majority: ACC %v BACC %v, want 0.8 0.5", acc, bacc)
	}
	// One positive found, one false alarm: recall0 = 7/8, recall1 = 1/2.
	pred := []int{1, 0, 0, 0, 0, 0, 0, 0, 1, 0}
	bacc, _ = BalancedAccuracy(labels, pred, 2)
	if want := (7.0/8 + 0.5) / 2; math.Abs(bacc-want) > 1e-15 {
		t.Errorf("BACC = %v, want %v", bacc, want)
	}
	// Binary macro F1 averages both classes: F1_0 = 14/16, F1_1 = 2/4.
	macro, _ := MacroF1(labels, pred, 2)
	if want := (14.0/16 + 0.5) / 2; math.Abs(macro-want) > 1e-15 {
		t.Errorf("MacroF1 = %v, want %v", macro, want)
	}
}

func TestSingleClassPresent(t *testing.T) {
	labels := []int{1, 1, 1}
	pred := []int{1, 0, 1}
	sens, _ := Sensitivity(labels, pred, 2)
	spec, _ := Specificity(labels, pred, 2)
	// Class 0 absent: its recall is 0/0. Class 1 is everything: its specificity is 0/0.
	if !math.IsNaN(sens[0]) || sens[1] != 2.0/3 {
		t.Errorf("sensitivity = %v, want [NaN 0.667]", sens)
	}
	if spec[0] != 2.0/3 || !math.IsNaN(spec[1]) {
		t.Errorf("specificity = %v, want [0.667 NaN]", spec)
	}
	if bacc, err := BalancedAccuracy(labels, pred, 2); err != nil || !math.IsNaN(bacc) {
		t.Errorf("BalancedAccuracy = %v, %v; want NaN, nil", bacc, err)
	}
	// Class 0 is predicted once, so F1_0 = 0/(0+1+0) = 0 is defined; F1_1 = 4/5.
	if f1, _ := MacroF1(labels, pred, 2); math.Abs(f1-(0+0.8)/2) > 1e-15 {
		t.Errorf("MacroF1 = %v, want 0.4", f1)
	}
	// Class 0 neither present nor predicted: F1_0 is 0/0.
	if f1, _ := MacroF1(labels, []int{1, 1, 1}, 2); !math.IsNaN(f1) {
		t.Errorf("MacroF1 with an absent, unpredicted class = %v, want NaN", f1)
	}
}

func TestPredictionsMalformed(t *testing.T) {
	for _, tc := range []struct {
		name         string
		labels, pred []int
		classes      int
		want         error
	}{
		{"empty", nil, nil, 2, ErrEmpty},
		{"one class", []int{0}, []int{0}, 1, ErrShape},
		{"length mismatch", []int{0, 1}, []int{0}, 2, ErrShape},
		{"label out of range", []int{0, 2}, []int{0, 1}, 2, ErrLabel},
		{"prediction out of range", []int{0, 1}, []int{0, -1}, 2, ErrLabel},
	} {
		if _, err := Confusion(tc.labels, tc.pred, tc.classes); !errors.Is(err, tc.want) {
			t.Errorf("%s: Confusion error = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := BalancedAccuracy(tc.labels, tc.pred, tc.classes); !errors.Is(err, tc.want) {
			t.Errorf("%s: BalancedAccuracy error = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Accuracy(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("Accuracy(empty) error = %v, want ErrEmpty", err)
	}
	if _, err := Accuracy([]int{1}, []int{1, 0}); !errors.Is(err, ErrShape) {
		t.Errorf("Accuracy(mismatch) error = %v, want ErrShape", err)
	}
}
