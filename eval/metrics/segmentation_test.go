package metrics

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDiceIoUHand(t *testing.T) {
	T, F := true, false
	for _, tc := range []struct {
		name        string
		truth, pred []bool
		dice, iou   float64
	}{
		// |T| = 3, |P| = 3, |T∩P| = 2, |T∪P| = 4.
		{"overlap", []bool{T, T, F, F, T}, []bool{T, F, T, F, T}, 4.0 / 6, 2.0 / 4},
		{"identical", []bool{T, F, T}, []bool{T, F, T}, 1, 1},
		{"disjoint", []bool{T, F, F}, []bool{F, T, F}, 0, 0},
		{"both empty (convention 1)", []bool{F, F, F}, []bool{F, F, F}, 1, 1},
		{"empty prediction", []bool{F, T, F}, []bool{F, F, F}, 0, 0},
		{"empty truth", []bool{F, F, F}, []bool{T, F, F}, 0, 0},
	} {
		d, err := Dice(tc.truth, tc.pred)
		if err != nil {
			t.Fatal(err)
		}
		j, _ := IoU(tc.truth, tc.pred)
		if math.Abs(d-tc.dice) > 1e-15 || math.Abs(j-tc.iou) > 1e-15 {
			t.Errorf("%s: Dice %v IoU %v, want %v %v", tc.name, d, j, tc.dice, tc.iou)
		}
	}
	if _, err := Dice(nil, nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v, want ErrEmpty", err)
	}
	if _, err := IoU([]bool{T}, []bool{T, F}); !errors.Is(err, ErrShape) {
		t.Errorf("mismatch: %v, want ErrShape", err)
	}
}

// TestDiceIoURelation checks Dice = 2 IoU / (1 + IoU) on random masks.
func TestDiceIoURelation(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 100 {
		n := 1 + rng.IntN(40)
		a, b := make([]bool, n), make([]bool, n)
		for i := range a {
			a[i], b[i] = rng.IntN(3) == 0, rng.IntN(2) == 0
		}
		d, _ := Dice(a, b)
		j, _ := IoU(a, b)
		if math.Abs(d-2*j/(1+j)) > 1e-12 {
			t.Fatalf("Dice %v, IoU %v: 2IoU/(1+IoU) = %v", d, j, 2*j/(1+j))
		}
	}
}

func TestDicePerClass(t *testing.T) {
	// Class 0: T{0,1} P{0,5}: Dice 2/4, IoU 1/3. Class 1: T{2,3} P{1,2,3}: 4/5, 2/3.
	// Class 2: T{4,5} P{4}: 2/3, 1/2. Class 3 absent from both: 1, 1.
	truth := []int{0, 0, 1, 1, 2, 2}
	pred := []int{0, 1, 1, 1, 2, 0}
	d, err := DicePerClass(truth, pred, 4)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := IoUPerClass(truth, pred, 4)
	wantD := []float64{0.5, 0.8, 2.0 / 3, 1}
	wantJ := []float64{1.0 / 3, 2.0 / 3, 0.5, 1}
	for k := range 4 {
		if math.Abs(d[k]-wantD[k]) > 1e-15 || math.Abs(j[k]-wantJ[k]) > 1e-15 {
			t.Errorf("class %d: Dice %v IoU %v, want %v %v", k, d[k], j[k], wantD[k], wantJ[k])
		}
	}
	if _, err := DicePerClass(truth, []int{0, 1, 1, 1, 2, 4}, 4); !errors.Is(err, ErrLabel) {
		t.Errorf("class 4 of 4: %v, want ErrLabel", err)
	}
}
