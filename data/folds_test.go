package data

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// checkPartition fails unless folds partition [0, n) with every patient in one fold.
func checkPartition(t *testing.T, s *Split, folds [][]int) {
	t.Helper()
	seen := make([]int, s.N)
	foldOf := map[string]int{}
	for f, idx := range folds {
		if len(idx) == 0 {
			t.Errorf("fold %d is empty", f)
		}
		if !slices.IsSorted(idx) {
			t.Errorf("fold %d is not in increasing order", f)
		}
		for _, i := range idx {
			seen[i]++
			if s.Patients == nil {
				continue
			}
			p := s.Patients[i]
			if g, ok := foldOf[p]; ok && g != f {
				t.Errorf("patient %s is in folds %d and %d", p, g, f)
			}
			foldOf[p] = f
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("example %d is in %d folds, want 1", i, n)
		}
	}
}

// Folds partition the examples, keep patients together, follow the class proportions,
// and depend only on the seed.
func TestFoldsSingleLabel(t *testing.T) {
	ds, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	dev, err := Concat("dev", ds.Train, ds.Val)
	if err != nil {
		t.Fatal(err)
	}
	total := dev.ClassCounts()
	for _, k := range []int{2, 5, 10} {
		folds, err := Folds(dev, k, 7)
		if err != nil {
			t.Fatal(err)
		}
		checkPartition(t, dev, folds)
		// Without patient ids every example moves alone: each fold's class counts are
		// within one of their share.
		for f, idx := range folds {
			counts := dev.Subset(idx).ClassCounts()
			for c, n := range counts {
				if share := float64(total[c]) / float64(k); math.Abs(float64(n)-share) > 1 {
					t.Errorf("k=%d fold %d: %d examples of class %d, want %.1f ± 1", k, f, n, c, share)
				}
			}
		}
		again, _ := Folds(dev, k, 7)
		if !slices.EqualFunc(folds, again, slices.Equal) {
			t.Errorf("k=%d: two calls with seed 7 differ", k)
		}
		other, _ := Folds(dev, k, 8)
		if slices.EqualFunc(folds, other, slices.Equal) {
			t.Errorf("k=%d: seeds 7 and 8 give the same folds", k)
		}
	}

	// Patients of 1 to 6 images each: no patient is split, and the class proportions
	// still hold within the largest patient's size.
	dev.Patients = make([]string, dev.N)
	for i, p := 0, 0; i < dev.N; p++ {
		for j := 0; j < 1+p%6 && i < dev.N; j++ {
			dev.Patients[i] = fmt.Sprint("p", p)
			i++
		}
	}
	folds, err := Folds(dev, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, dev, folds)
	for f, idx := range folds {
		for c, n := range dev.Subset(idx).ClassCounts() {
			if share := float64(total[c]) / 5; math.Abs(float64(n)-share) > 6 {
				t.Errorf("fold %d: %d examples of class %d, want %.1f ± 6", f, n, c, share)
			}
		}
	}
	train, val, err := FoldSplits(dev, folds, 2)
	if err != nil {
		t.Fatal(err)
	}
	if train.N+val.N != dev.N || val.N != len(folds[2]) || !slices.Equal(val.Patients, dev.Subset(folds[2]).Patients) {
		t.Errorf("FoldSplits(fold 2): %d train + %d val of %d", train.N, val.N, dev.N)
	}
	for _, p := range train.Patients {
		if slices.Contains(val.Patients, p) {
			t.Fatalf("patient %s is in both the training and the validation split of fold 2", p)
		}
	}
}

// Multi-label folds keep every label's positives (and the examples without any) spread
// over the folds.
func TestFoldsMultiLabel(t *testing.T) {
	rng := newRand(1, 99)
	const n, labels, k = 400, 5, 4
	s := &Split{Name: "ml", N: n, Height: 1, Width: 1, Channels: 1, Images: make([]uint8, n), LabelDim: labels, Task: MultiLabel, NumClasses: labels}
	rates := []float64{0.5, 0.2, 0.1, 0.05, 0.02} // the last label has about 8 positives
	for range n {
		for _, r := range rates {
			v := int32(0)
			if rng.Float64() < r {
				v = 1
			}
			s.Labels = append(s.Labels, v)
		}
	}
	folds, err := Folds(s, k, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkPartition(t, s, folds)
	total := s.ClassCounts()
	for f, idx := range folds {
		for l, c := range s.Subset(idx).ClassCounts() {
			if share := float64(total[l]) / k; math.Abs(float64(c)-share) > 1.5 {
				t.Errorf("fold %d: %d positives of label %d, want %.1f ± 1.5", f, c, l, share)
			}
		}
	}
}

func TestFoldsRejectBadInput(t *testing.T) {
	s := &Split{Name: "tiny", N: 3, Height: 1, Width: 1, Channels: 1, Images: make([]uint8, 3), Labels: []int32{0, 1, 0}, LabelDim: 1, NumClasses: 2,
		Patients: []string{"a", "a", "b"}}
	for _, k := range []int{0, 1, 3} {
		if _, err := Folds(s, k, 1); err == nil {
			t.Errorf("Folds(k=%d) of 2 patients: no error", k)
		}
	}
	s.Patients = s.Patients[:2]
	if _, err := Folds(s, 2, 1); err == nil {
		t.Error("Folds with 2 patient ids for 3 examples: no error")
	}
	if _, _, err := FoldSplits(s, [][]int{{0}, {1, 2}}, 2); err == nil {
		t.Error("FoldSplits(fold 2 of 2): no error")
	}
}

// Concat keeps both splits' examples and patients, and gives ids to examples that had none.
func TestConcat(t *testing.T) {
	a := &Split{Name: "train", N: 2, Height: 1, Width: 1, Channels: 1, Images: []uint8{1, 2}, Labels: []int32{0, 1}, LabelDim: 1, NumClasses: 2, Patients: []string{"p", "q"}}
	b := &Split{Name: "val", N: 1, Height: 1, Width: 1, Channels: 1, Images: []uint8{3}, Labels: []int32{1}, LabelDim: 1, NumClasses: 2}
	c, err := Concat("dev", a, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.N != 3 || !slices.Equal(c.Images, []uint8{1, 2, 3}) || !slices.Equal(c.Labels, []int32{0, 1, 1}) || !slices.Equal(c.Patients, []string{"p", "q", "val#0"}) {
		t.Errorf("Concat: %+v", c)
	}
	if a.N != 2 || len(a.Images) != 2 {
		t.Error("Concat changed its input")
	}
	b.NumClasses = 3
	if _, err := Concat("dev", a, b); err == nil {
		t.Error("Concat of 2-class and 3-class splits: no error")
	}
}
