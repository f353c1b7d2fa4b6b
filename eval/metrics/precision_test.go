package metrics

import (
	"errors"
	"math"
	"testing"
)

func TestPrecision(t *testing.T) {
	// handCase: predicted columns 0: {3 true 0, 1 true 1}, 1: {1 true 0, 2 true 1},
	// 2: {1 true 1, 2 true 2} -> 3/4, 2/3, 2/3.
	p, err := Precision(handCase.labels, handCase.pred, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{3.0 / 4, 2.0 / 3, 2.0 / 3}
	for k := range want {
		if p[k] != want[k] {
			t.Errorf("precision[%d] = %v, want %v", k, p[k], want[k])
		}
	}
	macro, _ := MacroPrecision(handCase.labels, handCase.pred, 3)
	if w := (3.0/4 + 2.0/3 + 2.0/3) / 3; math.Abs(macro-w) > 1e-15 {
		t.Errorf("MacroPrecision = %v, want %v", macro, w)
	}

	// A collapsed classifier never predicts class 1: its precision is NaN.
	p, _ = Precision([]int{0, 1, 1, 0}, []int{0, 0, 0, 0}, 2)
	if p[0] != 0.5 || !math.IsNaN(p[1]) {
		t.Errorf("collapsed precision = %v, want [0.5 NaN]", p)
	}
	if m, _ := MacroPrecision([]int{0, 1, 1, 0}, []int{0, 0, 0, 0}, 2); !math.IsNaN(m) {
		t.Errorf("collapsed MacroPrecision = %v, want NaN", m)
	}
	if _, err := Precision([]int{0, 1}, []int{0, 2}, 2); !errors.Is(err, ErrLabel) {
		t.Errorf("prediction out of range: %v, want ErrLabel", err)
	}
}
