package metrics

import (
	"math"
	"slices"
	"testing"
)

func TestComputeMultiClass(t *testing.T) {
	// Scores whose argmax reproduces handCase.pred, so the prediction metrics are the
	// hand-worked ones of TestConfusionSensitivitySpecificity.
	scores := make([][]float64, len(handCase.pred))
	for i, p := range handCase.pred {
		row := []float64{0.2, 0.2, 0.2}
		row[p] = 0.6
		scores[i] = row
	}
	m, err := Compute(handCase.labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 10 || m.Classes != 3 {
		t.Errorf("N, Classes = %d, %d; want 10, 3", m.N, m.Classes)
	}
	if m.ACC != 0.7 {
		t.Errorf("ACC = %v, want 0.7", m.ACC)
	}
	if want := (0.75 + 0.5 + 1) / 3; math.Abs(m.BalancedACC-want) > 1e-15 {
		t.Errorf("BalancedACC = %v, want %v", m.BalancedACC, want)
	}
	if want := (6.0/8 + 4.0/7 + 4.0/5) / 3; math.Abs(m.MacroF1-want) > 1e-15 {
		t.Errorf("MacroF1 = %v, want %v", m.MacroF1, want)
	}
	if !slices.Equal(m.Confusion[1], []int{1, 2, 1}) {
		t.Errorf("Confusion row 1 = %v, want [1 2 1]", m.Confusion[1])
	}
	if want := []float64{5.0 / 6, 5.0 / 6, 7.0 / 8}; !slices.Equal(m.Specificity, want) {
		t.Errorf("Specificity = %v, want %v", m.Specificity, want)
	}
	// AUC: each column takes two values (0.6 when predicted, else 0.2), so
	// AUC_k = P(pos predicted k, neg not) + ½ P(tie) over pairs. Class 0: positives
	// {0.6,0.6,0.6,0.2}, negatives: one 0.6 (example 4) and five 0.2 ->
	// 3 positives beat 5 and tie 1 (3*5.5) + the 0.2 positive ties 5 (2.5) = 19 of 24.
	// Class 1: positives {0.6,0.6,0.2,0.2}, negatives one 0.6 (example 3) and five 0.2:
	// 2*5.5 + 2*2.5 = 16 of 24. Class 2: positives {0.6,0.6}, negatives one 0.6 and
	// seven 0.2: 2*7.5 = 15 of 16.
	if want := (19.0/24 + 16.0/24 + 15.0/16) / 3; math.Abs(m.AUC-want) > 1e-15 {
		t.Errorf("AUC = %v, want %v", m.AUC, want)
	}
	// Precision TP/(TP+FP) from the confusion matrix columns: 3/4, 2/3, 2/3.
	if want := []float64{3.0 / 4, 2.0 / 3, 2.0 / 3}; !slices.Equal(m.Precision, want) {
		t.Errorf("Precision = %v, want %v", m.Precision, want)
	}
	if want := (3.0/4 + 2.0/3 + 2.0/3) / 3; math.Abs(m.MacroPrec-want) > 1e-15 {
		t.Errorf("MacroPrec = %v, want %v", m.MacroPrec, want)
	}
	// AP per class, thresholds 0.6 then 0.2 (all ten examples, P = 4/10 there):
	// class 0: 0.6 holds 3 pos + 1 neg -> R 3/4, P 3/4; then R 1, P 4/10: 9/16 + 1/10.
	// class 1: 0.6 holds 2 pos + 1 neg -> R 1/2, P 2/3; then R 1, P 4/10: 1/3 + 1/5.
	// class 2: 0.6 holds 2 pos + 1 neg -> R 1, P 2/3.
	if want := (9.0/16 + 1.0/10 + 1.0/3 + 1.0/5 + 2.0/3) / 3; math.Abs(m.AP-want) > 1e-15 {
		t.Errorf("AP = %v, want %v", m.AP, want)
	}
	// Every confidence is 0.6, one bin: ECE = |accuracy - 0.6| = 0.1.
	if math.Abs(m.ECE-0.1) > 1e-15 {
		t.Errorf("ECE = %v, want 0.1", m.ECE)
	}
	mm := m.Map()
	for name, want := range map[string]float64{"auc": m.AUC, "acc": 0.7, "balanced_acc": m.BalancedACC,
		"macro_f1": m.MacroF1, "sensitivity_2": 1, "specificity_2": 7.0 / 8,
		"ap": m.AP, "ece": m.ECE, "macro_precision": m.MacroPrec, "precision_0": 3.0 / 4} {
		if got, ok := mm[name]; !ok || got != want {
			t.Errorf("Map()[%q] = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if len(mm) != 7+3*3 {
		t.Errorf("Map has %d keys, want 16: %v", len(mm), mm)
	}
}

func TestComputeSingleClassIsNaNNotError(t *testing.T) {
	m, err := Compute([]int{0, 0, 0}, [][]float64{{0.9, 0.1}, {0.3, 0.7}, {0.6, 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(m.AUC) || !math.IsNaN(m.BalancedACC) || !math.IsNaN(m.Sensitivity[1]) || !math.IsNaN(m.AP) {
		t.Errorf("AUC %v BalancedACC %v sensitivity %v AP %v: want NaN for the absent class", m.AUC, m.BalancedACC, m.Sensitivity, m.AP)
	}
	// Class 1 is predicted once (0.7 > 0.5), wrongly: precision 0, defined.
	if m.Precision[1] != 0 || m.Precision[0] != 1 {
		t.Errorf("Precision = %v, want [1 0]", m.Precision)
	}
	if math.Abs(m.ACC-2.0/3) > 1e-15 {
		t.Errorf("ACC = %v, want 2/3 (still defined)", m.ACC)
	}
}
