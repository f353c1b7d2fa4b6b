package data

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// Bags groups the 2D images (slices) of a Split into labelled bags, one bag per
// volume or patient, for multiple-instance learning: a 2D encoder sees the slices,
// the label belongs to the bag (models.AttentionMIL pools the slices' features).
//
// Bags[k] lists the indices into Slices of bag k's slices (at least one; a slice may
// belong to several bags). Labels[k] in [0, NumClasses) is bag k's class. The labels
// of Slices itself are ignored. Names, if not nil, holds one identifier per bag
// (patient or series ID) for reports.
type Bags struct {
	Slices     *Split
	Bags       [][]int
	Labels     []int32
	NumClasses int
	Names      []string
}

// NewBags checks and returns the bags (see Bags for the fields' meaning).
func NewBags(slices *Split, bags [][]int, labels []int32, numClasses int, names []string) (*Bags, error) {
	b := &Bags{Slices: slices, Bags: bags, Labels: labels, NumClasses: numClasses, Names: names}
	if err := b.Validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// Validate reports the first problem with b: no slices or bags, an empty bag, a
// slice index out of range, a label out of range or a length mismatch.
func (b *Bags) Validate() error {
	if b == nil || b.Slices == nil || b.Slices.N == 0 {
		return fmt.Errorf("data: Bags: no slices: %w", ErrArgument)
	}
	if len(b.Bags) == 0 {
		return fmt.Errorf("data: Bags: no bags: %w", ErrArgument)
	}
	if b.NumClasses < 2 {
		return fmt.Errorf("data: Bags: NumClasses %d, want >= 2: %w", b.NumClasses, ErrArgument)
	}
	if len(b.Labels) != len(b.Bags) {
		return fmt.Errorf("data: Bags: %d bags but %d labels: %w", len(b.Bags), len(b.Labels), ErrShape)
	}
	if b.Names != nil && len(b.Names) != len(b.Bags) {
		return fmt.Errorf("data: Bags: %d bags but %d names: %w", len(b.Bags), len(b.Names), ErrShape)
	}
	for k, bag := range b.Bags {
		if len(bag) == 0 {
			return fmt.Errorf("data: Bags: bag %d%s is empty: %w", k, b.nameOf(k), ErrArgument)
		}
		for _, i := range bag {
			if i < 0 || i >= b.Slices.N {
				return fmt.Errorf("data: Bags: bag %d%s holds slice %d, want [0, %d): %w", k, b.nameOf(k), i, b.Slices.N, ErrArgument)
			}
		}
		if l := b.Labels[k]; l < 0 || int(l) >= b.NumClasses {
			return fmt.Errorf("data: Bags: bag %d%s has label %d, want [0, %d): %w", k, b.nameOf(k), l, b.NumClasses, ErrLabel)
		}
	}
	return nil
}

func (b *Bags) nameOf(k int) string {
	if b.Names == nil {
		return ""
	}
	return fmt.Sprintf(" (%q)", b.Names[k])
}

// Len returns the number of bags.
func (b *Bags) Len() int { return len(b.Bags) }

// MaxLen returns the number of slices of the longest bag.
func (b *Bags) MaxLen() int {
	m := 0
	for _, bag := range b.Bags {
		m = max(m, len(bag))
	}
	return m
}

// IntLabels returns the bags' labels as ints, as package eval takes them.
func (b *Bags) IntLabels() []int {
	out := make([]int, len(b.Labels))
	for i, l := range b.Labels {
		out[i] = int(l)
	}
	return out
}

// Subset returns the given bags (in that order) sharing b's Slices.
func (b *Bags) Subset(indices []int) (*Bags, error) {
	out := &Bags{Slices: b.Slices, NumClasses: b.NumClasses}
	for _, k := range indices {
		if k < 0 || k >= len(b.Bags) {
			return nil, fmt.Errorf("data: Bags.Subset: bag %d out of range [0, %d): %w", k, len(b.Bags), ErrArgument)
		}
		out.Bags = append(out.Bags, b.Bags[k])
		out.Labels = append(out.Labels, b.Labels[k])
		if b.Names != nil {
			out.Names = append(out.Names, b.Names[k])
		}
	}
	return out, out.Validate()
}

// BagsFromSplits makes one bag of each split (for example each Volume.Slices of a
// patient's scan), concatenating their images into one Split. All splits must have
// the same image size; resize them first otherwise.
func BagsFromSplits(volumes []*Split, labels []int32, numClasses int, names []string) (*Bags, error) {
	if len(volumes) == 0 {
		return nil, fmt.Errorf("data: BagsFromSplits: no volumes: %w", ErrArgument)
	}
	first := volumes[0]
	if first == nil {
		return nil, fmt.Errorf("data: BagsFromSplits: volume 0 is nil: %w", ErrArgument)
	}
	all := &Split{Name: "slices", Height: first.Height, Width: first.Width, Channels: first.Channels,
		LabelDim: 1, NumClasses: 1}
	bags := make([][]int, len(volumes))
	for k, v := range volumes {
		if v == nil || v.N == 0 {
			return nil, fmt.Errorf("data: BagsFromSplits: volume %d has no slices: %w", k, ErrArgument)
		}
		if v.Height != all.Height || v.Width != all.Width || v.Channels != all.Channels {
			return nil, fmt.Errorf("data: BagsFromSplits: volume %d has %dx%dx%d slices, volume 0 %dx%dx%d: %w",
				k, v.Height, v.Width, v.Channels, all.Height, all.Width, all.Channels, ErrShape)
		}
		if len(v.Images) < v.N*v.ImageSize() {
			return nil, fmt.Errorf("data: BagsFromSplits: volume %d has %d image bytes, %d slices of %dx%dx%d need %d: %w",
				k, len(v.Images), v.N, v.Height, v.Width, v.Channels, v.N*v.ImageSize(), ErrShape)
		}
		for i := range v.N {
			bags[k] = append(bags[k], all.N+i)
		}
		all.N += v.N
		all.Images = append(all.Images, v.Images[:v.N*v.ImageSize()]...)
	}
	all.Labels = make([]int32, all.N) // placeholders: the labels are the bags'
	return NewBags(all, bags, labels, numClasses, names)
}

// RandomBags groups a labelled 2D split's images at random into bags of size images
// (the last len%size images are left out) and labels a bag 1 when any of its images
// has class positive, 0 otherwise: the standard multiple-instance assumption. It
// turns a 2D dataset into a real-image test bed for MIL code, where the key instance
// is known; it is no substitute for real volumes, whose slices are correlated.
func RandomBags(s *Split, size int, positive int32, seed int64) (*Bags, error) {
	if err := needSingleLabel(s, "RandomBags"); err != nil {
		return nil, err
	}
	if size < 1 || size > s.N {
		return nil, fmt.Errorf("data: RandomBags: bag size %d for %d images: %w", size, s.N, ErrArgument)
	}
	if positive < 0 || int(positive) >= s.NumClasses {
		return nil, fmt.Errorf("data: RandomBags: positive class %d, want [0, %d): %w", positive, s.NumClasses, ErrArgument)
	}
	order := allIndices(s.N)
	rng := newRand(seed, bagStreamGroup)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	var bags [][]int
	var labels []int32
	for start := 0; start+size <= len(order); start += size {
		bag := slices.Clone(order[start : start+size])
		slices.Sort(bag)
		var l int32
		for _, i := range bag {
			if s.Labels[i] == positive {
				l = 1
			}
		}
		bags = append(bags, bag)
		labels = append(labels, l)
	}
	return NewBags(s, bags, labels, 2, nil)
}

// Random streams of the bag helpers (see newRand), far from the other streams.
const (
	bagStreamGroup  uint64 = 1<<48 + iota
	bagStreamEpochs        = 1 << 49 // + epoch number
)

// BagBatches serves Bags as a GoMLX train.Dataset of fixed-size bags: every batch's
// Inputs are {float32 [B,S,H,W,C] in [0, 1]} and its Labels {int32 [B]}.
//
// Each call of Iter runs one epoch over the bags in a fresh order, ⌈bags/B⌉ batches
// with a smaller last batch, as train.Loop.RunEpochs expects. Each bag contributes S
// slices drawn anew every epoch: S distinct slices (kept in bag order) when it has at
// least S, otherwise all its slices plus S-n more drawn with replacement. Bag order
// and draws depend only on (seed, epoch). Safe for one iteration at a time.
type BagBatches struct {
	bags      *Bags
	batchSize int
	slices    int
	seed      int64
	name      string

	mu    sync.Mutex
	epoch int
}

// NewBagBatches returns batches of batchSize bags of slicesPerBag slices each.
func NewBagBatches(b *Bags, batchSize, slicesPerBag int, seed int64) (*BagBatches, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if batchSize < 1 || slicesPerBag < 1 {
		return nil, fmt.Errorf("data: NewBagBatches: batch size %d and slices per bag %d must be >= 1: %w", batchSize, slicesPerBag, ErrArgument)
	}
	return &BagBatches{bags: b, batchSize: batchSize, slices: slicesPerBag, seed: seed, name: "bags"}, nil
}

// Name implements train.Dataset.
func (bb *BagBatches) Name() string { return bb.name }

// Reset sets the epoch counter back to 0, so the next Iter replays the first epoch.
func (bb *BagBatches) Reset() {
	bb.mu.Lock()
	bb.epoch = 0
	bb.mu.Unlock()
}

// StepsPerEpoch returns ⌈bags / batch size⌉.
func (bb *BagBatches) StepsPerEpoch() int { return (bb.bags.Len() + bb.batchSize - 1) / bb.batchSize }

// Iter implements train.Dataset: one epoch.
func (bb *BagBatches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		bb.mu.Lock()
		e := bb.epoch
		bb.epoch++
		bb.mu.Unlock()
		rng := newRand(bb.seed, bagStreamEpochs+uint64(e))
		order := allIndices(bb.bags.Len())
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for start := 0; start < len(order); start += bb.batchSize {
			ks := order[start:min(start+bb.batchSize, len(order))]
			idx := make([]int, 0, len(ks)*bb.slices)
			for _, k := range ks {
				idx = append(idx, bagSample(rng, bb.bags.Bags[k], bb.slices)...)
			}
			if !yield(bb.batch(ks, idx), nil) {
				return
			}
		}
	}
}

// bagSample draws s slices of bag: s distinct ones in bag order when the bag has at
// least s, else every slice once followed by s-len(bag) draws with replacement.
func bagSample(rng *rand.Rand, bag []int, s int) []int {
	if len(bag) >= s {
		pick := rng.Perm(len(bag))[:s]
		slices.Sort(pick)
		out := make([]int, s)
		for i, p := range pick {
			out[i] = bag[p]
		}
		return out
	}
	out := slices.Clone(bag)
	for len(out) < s {
		out = append(out, bag[rng.IntN(len(bag))])
	}
	return out
}

// batch builds the tensors of bags ks whose slices are idx (len(ks)*S of them).
func (bb *BagBatches) batch(ks, idx []int) train.Batch {
	sp := bb.bags.Slices
	img := tensors.FromShape(shapes.Make(dtypes.Float32, len(ks), bb.slices, sp.Height, sp.Width, sp.Channels))
	tensors.MustMutableFlatData(img, func(flat []float32) { sp.fillImages(flat, idx) })
	lab := tensors.FromShape(shapes.Make(dtypes.Int32, len(ks)))
	tensors.MustMutableFlatData(lab, func(flat []int32) {
		for i, k := range ks {
			flat[i] = bb.bags.Labels[k]
		}
	})
	return train.Batch{Inputs: []*tensors.Tensor{img}, Labels: []*tensors.Tensor{lab}}
}

var _ train.Dataset = (*BagBatches)(nil)
