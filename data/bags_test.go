package data

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

func bagBreastTrain(t *testing.T) *Split {
	t.Helper()
	ds, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	return ds.Train
}

func TestNewBagsErrors(t *testing.T) {
	s := bagBreastTrain(t)
	ok := [][]int{{0, 1}, {2}}
	cases := []struct {
		name    string
		slices  *Split
		bags    [][]int
		labels  []int32
		classes int
		names   []string
		want    error
	}{
		{"nil slices", nil, ok, []int32{0, 1}, 2, nil, ErrArgument},
		{"no bags", s, nil, nil, 2, nil, ErrArgument},
		{"one class", s, ok, []int32{0, 0}, 1, nil, ErrArgument},
		{"labels length", s, ok, []int32{0}, 2, nil, ErrShape},
		{"names length", s, ok, []int32{0, 1}, 2, []string{"a"}, ErrShape},
		{"empty bag", s, [][]int{{0}, {}}, []int32{0, 1}, 2, nil, ErrArgument},
		{"slice out of range", s, [][]int{{0}, {s.N}}, []int32{0, 1}, 2, nil, ErrArgument},
		{"negative slice", s, [][]int{{-1}, {1}}, []int32{0, 1}, 2, nil, ErrArgument},
		{"label out of range", s, ok, []int32{0, 2}, 2, []string{"p1", "p2"}, ErrLabel},
	}
	for _, c := range cases {
		if _, err := NewBags(c.slices, c.bags, c.labels, c.classes, c.names); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	b, err := NewBags(s, ok, []int32{0, 1}, 2, []string{"p1", "p2"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != 2 || b.MaxLen() != 2 {
		t.Errorf("Len %d MaxLen %d, want 2 2", b.Len(), b.MaxLen())
	}
	sub, err := b.Subset([]int{1})
	if err != nil || sub.Len() != 1 || sub.Names[0] != "p2" || sub.Labels[0] != 1 || sub.Bags[0][0] != 2 {
		t.Errorf("Subset([1]) = %+v, %v", sub, err)
	}
	if _, err := b.Subset([]int{2}); !errors.Is(err, ErrArgument) {
		t.Errorf("Subset out of range: %v", err)
	}
}

func TestRandomBags(t *testing.T) {
	s := bagBreastTrain(t) // 546 images, class 0 (malignant) 147
	b, err := RandomBags(s, 4, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() != s.N/4 || b.NumClasses != 2 || b.Slices != s {
		t.Fatalf("%d bags of %d classes, want %d of 2 over the split", b.Len(), b.NumClasses, s.N/4)
	}
	seen := map[int]bool{}
	positives := 0
	for k, bag := range b.Bags {
		if len(bag) != 4 {
			t.Fatalf("bag %d has %d images", k, len(bag))
		}
		want := int32(0)
		for _, i := range bag {
			if seen[i] {
				t.Fatalf("image %d is in two bags", i)
			}
			seen[i] = true
			if s.Labels[i] == 0 {
				want = 1
			}
		}
		if b.Labels[k] != want {
			t.Errorf("bag %d %v has label %d, want %d", k, bag, b.Labels[k], want)
		}
		positives += int(want)
	}
	// Both classes must occur for the bags to be a classification task at all.
	if positives == 0 || positives == b.Len() {
		t.Errorf("%d of %d bags positive", positives, b.Len())
	}
	again, _ := RandomBags(s, 4, 0, 7)
	other, _ := RandomBags(s, 4, 0, 8)
	if !slices.EqualFunc(b.Bags, again.Bags, slices.Equal) {
		t.Error("the same seed grouped differently")
	}
	if slices.EqualFunc(b.Bags, other.Bags, slices.Equal) {
		t.Error("seeds 7 and 8 grouped the same")
	}
	if _, err := RandomBags(s, 0, 0, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("size 0: %v", err)
	}
	if _, err := RandomBags(s, 4, 2, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("positive class 2: %v", err)
	}
}

// bagEpoch runs one epoch and returns, per batch, each bag's index (recovered from
// its slices' pixels) and the slices drawn for it.
func bagEpoch(t *testing.T, bb *BagBatches, b *Bags, s int) (bagIDs []int, drawn [][]int, sizes []int) {
	t.Helper()
	sp := b.Slices
	owner := map[int]int{} // slice -> bag (bags here are disjoint)
	for k, bag := range b.Bags {
		for _, i := range bag {
			owner[i] = k
		}
	}
	sz := sp.ImageSize()
	for batch, err := range bb.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		img, lab := batch.Inputs[0], batch.Labels[0]
		dims := img.Shape().Dimensions
		if img.DType() != dtypes.Float32 || len(dims) != 5 || dims[1] != s || dims[2] != sp.Height || dims[3] != sp.Width || dims[4] != sp.Channels {
			t.Fatalf("images %s, want float32 [B,%d,%d,%d,%d]", img.Shape(), s, sp.Height, sp.Width, sp.Channels)
		}
		if lab.DType() != dtypes.Int32 || lab.Shape().Rank() != 1 || lab.Shape().Dimensions[0] != dims[0] {
			t.Fatalf("labels %s, want int32 [%d]", lab.Shape(), dims[0])
		}
		sizes = append(sizes, dims[0])
		flat := tensors.MustCopyFlatData[float32](img)
		labels := tensors.MustCopyFlatData[int32](lab)
		for bi := range dims[0] {
			var got []int
			k := -1
			for si := range s {
				px := flat[(bi*s+si)*sz : (bi*s+si+1)*sz]
				// Find the slice of the split with exactly these pixels (x/255).
				found := -1
				for i := range sp.N {
					if bagSameImage(px, sp.Image(i)) && (k < 0 || owner[i] == k) {
						found = i
						break
					}
				}
				if found < 0 {
					t.Fatalf("batch bag %d slice %d matches no image of the bag", bi, si)
				}
				if k < 0 {
					k = owner[found]
				}
				got = append(got, found)
			}
			if labels[bi] != b.Labels[k] {
				t.Errorf("bag %d labelled %d, want %d", k, labels[bi], b.Labels[k])
			}
			bagIDs = append(bagIDs, k)
			drawn = append(drawn, got)
		}
	}
	return bagIDs, drawn, sizes
}

func bagSameImage(px []float32, img []uint8) bool {
	for j, v := range img {
		if px[j] != float32(v)/255 {
			return false
		}
	}
	return true
}

func TestBagBatches(t *testing.T) {
	s := bagBreastTrain(t)
	// 12 disjoint bags of 1..6 consecutive real images.
	var bags [][]int
	var labels []int32
	next := 0
	for k := range 12 {
		n := k%6 + 1
		bag := make([]int, n)
		for i := range bag {
			bag[i] = next
			next++
		}
		bags = append(bags, bag)
		labels = append(labels, int32(k%2))
	}
	b, err := NewBags(s, bags, labels, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	const S, B = 4, 5
	bb, err := NewBagBatches(b, B, S, 3)
	if err != nil {
		t.Fatal(err)
	}
	if bb.StepsPerEpoch() != 3 {
		t.Errorf("StepsPerEpoch %d, want ⌈12/5⌉ = 3", bb.StepsPerEpoch())
	}
	ids0, drawn0, sizes := bagEpoch(t, bb, b, S)
	if !slices.Equal(sizes, []int{5, 5, 2}) {
		t.Errorf("batch sizes %v, want [5 5 2]", sizes)
	}
	if got := slices.Sorted(slices.Values(ids0)); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}) {
		t.Errorf("epoch visited bags %v, want each once", ids0)
	}
	for j, k := range ids0 {
		bag, got := b.Bags[k], drawn0[j]
		for _, i := range got {
			if !slices.Contains(bag, i) {
				t.Errorf("bag %d %v: drew slice %d", k, bag, i)
			}
		}
		distinct := slices.Compact(slices.Sorted(slices.Values(got)))
		if len(bag) >= S && len(distinct) != S {
			t.Errorf("bag %d of %d slices: drew %v, want %d distinct", k, len(bag), got, S)
		}
		if len(bag) < S && !slices.Equal(distinct, bag) {
			t.Errorf("bag %d %v shorter than %d: drew %v, want every slice", k, bag, S, got)
		}
	}
	ids1, _, _ := bagEpoch(t, bb, b, S)
	if slices.Equal(ids0, ids1) {
		t.Errorf("epochs 0 and 1 visit the bags in the same order %v", ids0)
	}
	bb.Reset()
	idsR, drawnR, _ := bagEpoch(t, bb, b, S)
	if !slices.Equal(ids0, idsR) || !slices.EqualFunc(drawn0, drawnR, slices.Equal) {
		t.Error("after Reset the first epoch is not replayed")
	}
	if _, err := NewBagBatches(b, 0, S, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("batch 0: %v", err)
	}
	if _, err := NewBagBatches(&Bags{}, 1, 1, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("empty bags: %v", err)
	}
}

func TestBagsFromSplits(t *testing.T) {
	s := bagBreastTrain(t)
	v1, v2 := s.Subset([]int{0, 1, 2}), s.Subset([]int{10, 11})
	b, err := BagsFromSplits([]*Split{v1, v2}, []int32{1, 0}, 2, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if b.Slices.N != 5 || !slices.Equal(b.Bags[0], []int{0, 1, 2}) || !slices.Equal(b.Bags[1], []int{3, 4}) {
		t.Fatalf("slices %d bags %v, want 5 and [[0 1 2] [3 4]]", b.Slices.N, b.Bags)
	}
	if !slices.Equal(b.Slices.Image(3), s.Image(10)) {
		t.Error("bag 1's first slice is not image 10")
	}
	small := &Split{N: 1, Height: 2, Width: 2, Channels: 1, Images: make([]uint8, 4), Labels: []int32{0}, LabelDim: 1, NumClasses: 1}
	if _, err := BagsFromSplits([]*Split{v1, small}, []int32{1, 0}, 2, nil); !errors.Is(err, ErrShape) {
		t.Errorf("mixed sizes: %v", err)
	}
	short := *v2
	short.Images = short.Images[:len(short.Images)-1] // N says 2 images, 1 byte is missing
	if _, err := BagsFromSplits([]*Split{v1, &short}, []int32{1, 0}, 2, nil); !errors.Is(err, ErrShape) {
		t.Errorf("short Images: %v", err)
	}
}

// Two scans as bags of slices (here stand-ins: real BreastMNIST images), served in
// batches of 2 bags of 3 slices each.
func ExampleBagBatches() {
	ds, err := BreastMNIST()
	if err != nil {
		fmt.Println(err)
		return
	}
	scanA, scanB := ds.Train.Subset([]int{0, 1, 2, 3, 4}), ds.Train.Subset([]int{5, 6})
	bags, err := BagsFromSplits([]*Split{scanA, scanB}, []int32{1, 0}, 2, []string{"patient A", "patient B"})
	if err != nil {
		fmt.Println(err)
		return
	}
	batches, err := NewBagBatches(bags, 2, 3, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for batch := range batches.Iter() {
		fmt.Println("images", batch.Inputs[0].Shape(), "labels", batch.Labels[0].Shape())
	}
	// Output:
	// images (Float32)[2, 3, 28, 28, 1] labels (Int32)[2]
}
