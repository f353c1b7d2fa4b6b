package data

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// decodeIndices recovers each batch example's index in a classSplit from its pixels.
func decodeIndices(t *testing.T, b train.Batch, hw int) []int {
	t.Helper()
	img := b.Inputs[0]
	dims := img.Shape().Dimensions
	if img.DType() != dtypes.Float32 || len(dims) != 4 || dims[1] != hw || dims[2] != hw || dims[3] != 1 {
		t.Fatalf("images %s, want float32 [B,%d,%d,1]", img.Shape(), hw, hw)
	}
	flat := tensors.MustCopyFlatData[float32](img)
	sz := hw * hw
	idx := make([]int, dims[0])
	for i := range idx {
		lo, hi := flat[i*sz]*255, flat[i*sz+1]*255
		if lo != float32(math.Round(float64(lo))) || lo > 255 || hi > 255 {
			t.Fatalf("pixel values %v, %v are not k/255", flat[i*sz], flat[i*sz+1])
		}
		idx[i] = int(lo) + 256*int(hi)
	}
	return idx
}

// epoch collects one Iter's example indices and batch sizes.
func epoch(t *testing.T, b *Batches, s *Split) (order []int, sizes []int) {
	t.Helper()
	for batch, err := range b.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		idx := decodeIndices(t, batch, s.Height)
		lbl := tensors.MustCopyFlatData[int32](batch.Labels[0])
		for k, i := range idx {
			if lbl[k] != s.Labels[i] {
				t.Fatalf("label of example %d is %d, want %d", i, lbl[k], s.Labels[i])
			}
		}
		order = append(order, idx...)
		sizes = append(sizes, len(idx))
	}
	return
}

func isPermutation(order []int, n int) bool {
	s := slices.Sorted(slices.Values(order))
	for i := range s {
		if s[i] != i {
			return false
		}
	}
	return len(s) == n
}

func TestBatchesEpochs(t *testing.T) {
	s := classSplit([]int{30, 48}) // 78 examples, like BreastMNIST's val split
	b, err := NewBatches(s, 32, WithShuffle(42))
	if err != nil {
		t.Fatal(err)
	}
	if b.StepsPerEpoch() != 3 {
		t.Errorf("StepsPerEpoch %d, want 3", b.StepsPerEpoch())
	}
	e0, sizes := epoch(t, b, s)
	if !slices.Equal(sizes, []int{32, 32, 14}) || !isPermutation(e0, 78) {
		t.Fatalf("epoch 0: sizes %v, permutation %v", sizes, isPermutation(e0, 78))
	}
	e1, _ := epoch(t, b, s)
	if !isPermutation(e1, 78) || slices.Equal(e0, e1) {
		t.Error("epoch 1 is not a fresh permutation")
	}
	if slices.Equal(e0, allIndices(78)) {
		t.Error("epoch 0 is not shuffled")
	}
	if b.Epoch() != 2 {
		t.Errorf("Epoch() = %d after two epochs", b.Epoch())
	}
	b.Reset()
	if again, _ := epoch(t, b, s); !slices.Equal(again, e0) {
		t.Error("Reset did not replay epoch 0")
	}
	b2, _ := NewBatches(s, 32, WithShuffle(42))
	if o, _ := epoch(t, b2, s); !slices.Equal(o, e0) {
		t.Error("same seed gave a different order")
	}
	b3, _ := NewBatches(s, 32, WithShuffle(43))
	if o, _ := epoch(t, b3, s); slices.Equal(o, e0) {
		t.Error("seeds 42 and 43 gave the same order")
	}
	plain, _ := NewBatches(s, 32)
	if o, _ := epoch(t, plain, s); !slices.Equal(o, allIndices(78)) {
		t.Error("without shuffle the order is not the split's")
	}
	dl, _ := NewBatches(s, 32, WithShuffle(1), WithDropLast())
	if _, sizes := epoch(t, dl, s); !slices.Equal(sizes, []int{32, 32}) || dl.StepsPerEpoch() != 2 {
		t.Errorf("drop last: sizes %v", sizes)
	}
}

func TestBatchesRepeat(t *testing.T) {
	s := classSplit([]int{30, 48})
	b, err := NewBatches(s, 32, WithShuffle(5), WithRepeat())
	if err != nil {
		t.Fatal(err)
	}
	var stream []int
	steps := 0
	for batch, err := range b.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		idx := decodeIndices(t, batch, 2)
		if len(idx) != 32 {
			t.Fatalf("batch %d has %d examples, want 32", steps, len(idx))
		}
		stream = append(stream, idx...)
		if steps++; steps == 10 { // 320 examples: 4 whole epochs and part of a fifth
			break
		}
	}
	for e := 0; e < 4; e++ {
		if !isPermutation(stream[e*78:(e+1)*78], 78) {
			t.Errorf("repeat: epoch %d is not a permutation", e)
		}
	}
	if slices.Equal(stream[:78], stream[78:156]) {
		t.Error("repeat: epochs 0 and 1 have the same order")
	}
	// The endless stream visits epochs in the same orders as one-epoch iteration.
	one, _ := NewBatches(s, 32, WithShuffle(5))
	e0, _ := epoch(t, one, s)
	e1, _ := epoch(t, one, s)
	if !slices.Equal(stream[:78], e0) || !slices.Equal(stream[78:156], e1) {
		t.Error("repeat: epoch orders differ from single-epoch iteration")
	}
}

func TestBatchesLabelsAndImagesOnly(t *testing.T) {
	ml := multiLabelSplit(t)
	b, _ := NewBatches(ml, 4)
	for batch, err := range b.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		lbl := batch.Labels[0]
		if lbl.DType() != dtypes.Float32 || !slices.Equal(lbl.Shape().Dimensions, []int{4, 14}) {
			t.Fatalf("multi-label labels %s, want float32 [4,14]", lbl.Shape())
		}
		flat := tensors.MustCopyFlatData[float32](lbl)
		for i := 0; i < 4; i++ {
			for j := 0; j < 14; j++ {
				if flat[i*14+j] != float32(ml.LabelRow(i)[j]) {
					t.Fatalf("label (%d,%d) = %v, want %d", i, j, flat[i*14+j], ml.LabelRow(i)[j])
				}
			}
		}
		break
	}
	io, _ := NewBatches(breastTrain(t), 100, WithImagesOnly(), WithName("breast-ssl"))
	n := 0
	for batch, err := range io.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Labels) != 0 || len(batch.Inputs) != 1 {
			t.Fatalf("images-only batch has %d inputs, %d labels", len(batch.Inputs), len(batch.Labels))
		}
		n += batch.Inputs[0].Shape().Dimensions[0]
	}
	if n != 546 || io.Name() != "breast-ssl" {
		t.Errorf("images-only epoch served %d examples, name %q", n, io.Name())
	}
	for _, bs := range []int{0, -1} {
		if _, err := NewBatches(ml, bs); !errors.Is(err, ErrArgument) {
			t.Errorf("batch size %d: %v", bs, err)
		}
	}
	if _, err := NewBatches(ml, ml.N+1, WithDropLast()); !errors.Is(err, ErrArgument) {
		t.Errorf("batch larger than split with drop-last: %v", err)
	}
}

func TestWholeSplitTensors(t *testing.T) {
	s := breastTrain(t)
	img, lbl := s.ImagesTensor(), s.LabelsTensor()
	if img.DType() != dtypes.Float32 || !slices.Equal(img.Shape().Dimensions, []int{546, 28, 28, 1}) {
		t.Fatalf("images %s", img.Shape())
	}
	if lbl.DType() != dtypes.Int32 || !slices.Equal(lbl.Shape().Dimensions, []int{546}) {
		t.Fatalf("labels %s", lbl.Shape())
	}
	flat := tensors.MustCopyFlatData[float32](img)
	for i, v := range s.Images {
		if flat[i] != float32(v)/255 || flat[i] < 0 || flat[i] > 1 {
			t.Fatalf("pixel %d = %v, want %d/255", i, flat[i], v)
		}
	}
	if got := tensors.MustCopyFlatData[int32](lbl); !slices.Equal(got, s.Labels) {
		t.Error("labels tensor differs from the split's labels")
	}
}

// A stream that skips n batches continues exactly where the full stream is after n batches.
func TestBatchesSkip(t *testing.T) {
	s := classSplit([]int{30, 48})
	take := func(b *Batches, n int) []int {
		var out []int
		steps := 0
		for batch, err := range b.Iter() {
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, decodeIndices(t, batch, 2)...)
			if steps++; steps == n {
				break
			}
		}
		return out
	}
	full, _ := NewBatches(s, 32, WithShuffle(9), WithRepeat())
	want := take(full, 7)
	skipped, err := NewBatches(s, 32, WithShuffle(9), WithRepeat(), WithSkip(4))
	if err != nil {
		t.Fatal(err)
	}
	if got := take(skipped, 3); !slices.Equal(got, want[4*32:]) {
		t.Errorf("WithSkip(4) stream = %v, want %v", got, want[4*32:])
	}
	if _, err := NewBatches(s, 32, WithSkip(2)); err == nil {
		t.Error("WithSkip without WithRepeat should be rejected")
	}
}

// The class-balanced sampler draws every class equally often over an epoch (minority
// examples repeated, each only after all its class was drawn), is seeded, and a stream
// resumed with WithSkip serves exactly the batches of an uninterrupted one.
func TestClassBalancedBatches(t *testing.T) {
	ds, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	train := ds.Train // 147 malignant, 399 benign
	for e := range 3 {
		order := BalancedOrder(train.Labels, 2, 7, e)
		if len(order) != train.N {
			t.Fatalf("epoch %d: %d draws, want %d", e, len(order), train.N)
		}
		counts := make([]int, 2)
		seen := map[int]int{}
		for _, i := range order {
			counts[train.Labels[i]]++
			seen[i]++
		}
		if counts[0] != 273 || counts[1] != 273 {
			t.Errorf("epoch %d: class counts %v, want [273 273]", e, counts)
		}
		// 273 malignant draws of 147 images: every image once, 126 of them twice.
		twice := 0
		for i, n := range seen {
			if train.Labels[i] == 0 && n == 2 {
				twice++
			}
			if n > 2 || (train.Labels[i] == 1 && n > 1) {
				t.Errorf("epoch %d: image %d (class %d) drawn %d times", e, i, train.Labels[i], n)
			}
		}
		if twice != 126 {
			t.Errorf("epoch %d: %d malignant images drawn twice, want 126", e, twice)
		}
	}
	if !slices.Equal(BalancedOrder(train.Labels, 2, 7, 1), BalancedOrder(train.Labels, 2, 7, 1)) {
		t.Error("the same seed and epoch gave two orders")
	}
	if slices.Equal(BalancedOrder(train.Labels, 2, 7, 1), BalancedOrder(train.Labels, 2, 7, 2)) ||
		slices.Equal(BalancedOrder(train.Labels, 2, 7, 1), BalancedOrder(train.Labels, 2, 8, 1)) {
		t.Error("another epoch or seed gave the same order")
	}
	// Odd totals: the remainder goes to one class.
	three := []int32{0, 1, 1, 2, 2, 2, 2}
	counts := make([]int, 3)
	for _, i := range BalancedOrder(three, 3, 1, 0) {
		counts[three[i]]++
	}
	if slices.Max(counts)-slices.Min(counts) > 1 || counts[0]+counts[1]+counts[2] != 7 {
		t.Errorf("7 draws of 3 classes: %v", counts)
	}

	indices := func(opts ...BatchOption) [][]int {
		b, err := NewBatches(train, 64, append([]BatchOption{WithShuffle(3), WithClassBalance(), WithRepeat()}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		var out [][]int
		for idx := range b.BatchIndices() {
			if out = append(out, idx); len(out) == 20 {
				break
			}
		}
		return out
	}
	full, resumed := indices(), indices(WithSkip(7))
	for i := range resumed[:13] {
		if !slices.Equal(resumed[i], full[7+i]) {
			t.Fatalf("batch %d after resuming at 7 differs from the uninterrupted stream", 7+i)
		}
	}
	if _, err := NewBatches(train, 64, WithClassBalance()); err == nil {
		t.Error("class balance without a seed accepted")
	}
}
