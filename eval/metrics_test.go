package eval

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
	mm := m.Map()
	for name, want := range map[string]float64{"auc": m.AUC, "acc": 0.7, "balanced_acc": m.BalancedACC,
		"macro_f1": m.MacroF1, "sensitivity_2": 1, "specificity_2": 7.0 / 8} {
		if got, ok := mm[name]; !ok || got != want {
			t.Errorf("Map()[%q] = %v (present %v), want %v", name, got, ok, want)
		}
	}
	if len(mm) != 4+2*3 {
		t.Errorf("Map has %d keys, want 10: %v", len(mm), mm)
	}
}

func TestComputeSingleClassIsNaNNotError(t *testing.T) {
	m, err := Compute([]int{0, 0, 0}, [][]float64{{0.9, 0.1}, {0.3, 0.7}, {0.6, 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(m.AUC) || !math.IsNaN(m.BalancedACC) || !math.IsNaN(m.Sensitivity[1]) {
		t.Errorf("AUC %v BalancedACC %v sensitivity %v: want NaN for the absent class", m.AUC, m.BalancedACC, m.Sensitivity)
	}
	if math.Abs(m.ACC-2.0/3) > 1e-15 {
		t.Errorf("ACC = %v, want 2/3 (still defined)", m.ACC)
	}
}
