package data

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

func breastTrain(t *testing.T) *Split {
	t.Helper()
	d, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	return d.Train
}

// isSubsequence checks that every example of sub appears in s, in s's order.
func isSubsequence(s, sub *Split) bool {
	j := 0
	for i := 0; i < s.N && j < sub.N; i++ {
		if s.Label(i) == sub.Label(j) && bytes.Equal(s.Image(i), sub.Image(j)) {
			j++
		}
	}
	return j == sub.N
}

func TestLabelFraction(t *testing.T) {
	s := breastTrain(t) // 147 / 399
	cases := []struct {
		fraction float64
		counts   []int // round(f*147), round(f*399), at least 1
	}{
		{1, []int{147, 399}},
		{0.5, []int{74, 200}}, // 73.5 -> 74, 199.5 -> 200
		{0.1, []int{15, 40}},  // 14.7, 39.9
		{0.01, []int{1, 4}},   // 1.47, 3.99
		{0.001, []int{1, 1}},  // 0.147, 0.399: at least one each
	}
	for _, c := range cases {
		sub, err := LabelFraction(s, c.fraction, 7)
		if err != nil {
			t.Fatal(err)
		}
		if got := sub.ClassCounts(); !slices.Equal(got, c.counts) || sub.N != c.counts[0]+c.counts[1] {
			t.Errorf("fraction %v: counts %v N %d, want %v", c.fraction, got, sub.N, c.counts)
		}
		if !isSubsequence(s, sub) {
			t.Errorf("fraction %v: subset is not a subsequence of the split", c.fraction)
		}
	}
	all, _ := LabelFraction(s, 1, 3)
	if !bytes.Equal(all.Images, s.Images) || !slices.Equal(all.Labels, s.Labels) {
		t.Error("fraction 1 does not return the whole split in order")
	}
	a, _ := LabelFraction(s, 0.1, 1)
	b, _ := LabelFraction(s, 0.1, 1)
	c, _ := LabelFraction(s, 0.1, 2)
	if !bytes.Equal(a.Images, b.Images) || !slices.Equal(a.Labels, b.Labels) {
		t.Error("same seed gave different subsets")
	}
	if bytes.Equal(a.Images, c.Images) {
		t.Error("seeds 1 and 2 gave the same subset")
	}
	for _, f := range []float64{0, -0.1, 1.01, math.NaN(), math.Inf(1)} {
		if _, err := LabelFraction(s, f, 1); !errors.Is(err, ErrArgument) {
			t.Errorf("fraction %v: error %v, want ErrArgument", f, err)
		}
	}
	// Multi-label splits are stratified label by label (see multilabel_test.go).
	if sub, err := LabelFraction(multiLabelSplit(t), 0.5, 1); err != nil || sub.LabelDim != 14 || !sub.MultiLabel() {
		t.Errorf("multi-label: %v", err)
	}
}

func multiLabelSplit(t *testing.T) *Split {
	d, err := ReadMedMNISTBytes(multiLabelNpz(t, 14), "chestmnist.npz")
	if err != nil {
		t.Fatal(err)
	}
	return d.Train
}

// classSplit is a synthetic single-label split with the given class counts; image i's
// first byte is i mod 256, its second i / 256.
func classSplit(counts []int) *Split {
	s := &Split{Name: "train", Height: 2, Width: 2, Channels: 1, LabelDim: 1, Task: MultiClass, NumClasses: len(counts)}
	for c, n := range counts {
		for k := 0; k < n; k++ {
			i := s.N
			s.Images = append(s.Images, uint8(i%256), uint8(i/256), 0, 0)
			s.Labels = append(s.Labels, int32(c))
			s.N++
		}
	}
	return s
}

func TestInduceImbalance(t *testing.T) {
	s := breastTrain(t) // 147 / 399
	cases := []struct {
		ratio  float64
		counts []int
	}{
		{10, []int{40, 399}},  // round(399/10) = 40
		{5, []int{80, 399}},   // 79.8
		{2, []int{147, 399}},  // 199.5 > 147: minority kept whole
		{1, []int{147, 399}},  // no change
		{1000, []int{1, 399}}, // at least one
	}
	for _, c := range cases {
		sub, err := InduceImbalance(s, c.ratio, 11)
		if err != nil {
			t.Fatal(err)
		}
		if got := sub.ClassCounts(); !slices.Equal(got, c.counts) {
			t.Errorf("ratio %v: counts %v, want %v", c.ratio, got, c.counts)
		}
		if !isSubsequence(s, sub) {
			t.Errorf("ratio %v: subset is not a subsequence", c.ratio)
		}
	}
	// Binary: the reached majority:minority ratio is the target up to rounding of the minority.
	sub, _ := InduceImbalance(s, 10, 11)
	n := sub.ClassCounts()
	if r := float64(n[1]) / float64(n[0]); math.Abs(r-10) > 10/float64(n[0]) {
		t.Errorf("reached ratio %v, want 10", r)
	}
	// Multi-class: majority (class 1, 50) kept, every other class capped at round(50/5) = 10.
	m := classSplit([]int{30, 50, 8, 12})
	sub, err := InduceImbalance(m, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.ClassCounts(); !slices.Equal(got, []int{10, 50, 8, 10}) {
		t.Errorf("multi-class counts %v, want [10 50 8 10]", got)
	}
	a, _ := InduceImbalance(s, 10, 1)
	b, _ := InduceImbalance(s, 10, 1)
	c, _ := InduceImbalance(s, 10, 2)
	if !bytes.Equal(a.Images, b.Images) {
		t.Error("same seed gave different subsets")
	}
	if bytes.Equal(a.Images, c.Images) {
		t.Error("seeds 1 and 2 gave the same subset")
	}
	for _, r := range []float64{0.5, 0, -1, math.NaN(), math.Inf(1)} {
		if _, err := InduceImbalance(s, r, 1); !errors.Is(err, ErrArgument) {
			t.Errorf("ratio %v: error %v, want ErrArgument", r, err)
		}
	}
	// Multi-label imbalance is anchored on the examples without a finding, which this
	// synthetic split lacks (see multilabel_test.go for a real one).
	if _, err := InduceImbalance(multiLabelSplit(t), 2, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("multi-label without normal examples: error %v, want ErrArgument", err)
	}
}

func TestSubsetAndLabelsOfRealSplit(t *testing.T) {
	s := breastTrain(t)
	sub := s.Subset([]int{5, 0, 5})
	if sub.N != 3 || !bytes.Equal(sub.Image(0), s.Image(5)) || !bytes.Equal(sub.Image(1), s.Image(0)) ||
		sub.Label(2) != s.Label(5) || sub.Name != "train" {
		t.Error("Subset did not copy the requested examples in order")
	}
	sub.Images[0]++
	if sub.Images[0] == s.Image(5)[0] {
		t.Error("Subset shares memory with its parent")
	}
	idx := s.ClassIndices()
	if len(idx[0]) != 147 || len(idx[1]) != 399 {
		t.Errorf("ClassIndices sizes %d, %d", len(idx[0]), len(idx[1]))
	}
}
