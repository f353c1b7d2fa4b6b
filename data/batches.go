package data

import (
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// Batches serves a Split in batches as a GoMLX train.Dataset.
//
// Each batch's Inputs are {images float32 [B,H,W,C] in [0, 1]}; its Labels are
// {int32 [B]} for single-label splits, {float32 [B,L]} of 0/1 for multi-label splits,
// or empty with WithImagesOnly (train.Trainer accepts empty labels: its LossFn then gets
// none, as self-supervised losses expect).
//
// Each call of Iter runs one epoch (or, with WithRepeat, an endless stream of epochs)
// and advances the epoch counter; Reset sets it back to 0. With WithShuffle(seed) epoch e
// visits the examples in a permutation that depends only on (seed, e): different every
// epoch, the same across runs. This fits train.Loop.RunEpochs (one Iter per epoch) and,
// with WithRepeat, train.Loop.RunSteps. Batches is safe for use by one iteration at a
// time.
type Batches struct {
	split      *Split
	name       string
	batchSize  int
	shuffle    bool
	seed       int64
	dropLast   bool
	repeat     bool
	imagesOnly bool
	balanced   bool
	skip       int

	mu    sync.Mutex
	epoch int
}

// BatchOption configures NewBatches.
type BatchOption func(*Batches)

// WithShuffle visits the examples in a fresh seeded random order every epoch. Without it
// the order is the split's.
func WithShuffle(seed int64) BatchOption {
	return func(b *Batches) { b.shuffle, b.seed = true, seed }
}

// WithClassBalance visits every epoch in a class-balanced order (BalancedOrder, seeded with
// WithShuffle's seed, which it needs): each class equally often, minority examples
// repeated. Single-label splits only.
func WithClassBalance() BatchOption { return func(b *Batches) { b.balanced = true } }

// WithDropLast drops an epoch's last batch when it is smaller than the batch size, so
// every batch has the same shape (a new shape makes GoMLX compile a new graph).
func WithDropLast() BatchOption { return func(b *Batches) { b.dropLast = true } }

// WithRepeat makes Iter endless, for step-based training: epochs follow each other
// (each in its own order) and batches run across epoch boundaries, so every batch is
// full and every example is seen once per epoch.
func WithRepeat() BatchOption { return func(b *Batches) { b.repeat = true } }

// WithImagesOnly yields batches with empty Labels, for self-supervised pretraining.
func WithImagesOnly() BatchOption { return func(b *Batches) { b.imagesOnly = true } }

// WithSkip makes a WithRepeat stream start after its first n batches, without building
// them: a training run resumed at step n then sees exactly the batches an uninterrupted
// run would have.
func WithSkip(n int) BatchOption { return func(b *Batches) { b.skip = n } }

// WithName sets the name reported by Name (default "<split name>").
func WithName(name string) BatchOption { return func(b *Batches) { b.name = name } }

// NewBatches returns batches of batchSize examples of s. batchSize must be in [1, N]
// when dropping the last batch or repeating (else no full batch exists), >= 1 otherwise.
func NewBatches(s *Split, batchSize int, opts ...BatchOption) (*Batches, error) {
	if s == nil || s.N == 0 {
		return nil, fmt.Errorf("data: NewBatches: empty split: %w", ErrArgument)
	}
	b := &Batches{split: s, name: s.Name, batchSize: batchSize}
	for _, o := range opts {
		o(b)
	}
	if b.skip < 0 || (b.skip > 0 && !b.repeat) {
		return nil, fmt.Errorf("data: NewBatches: skip %d needs WithRepeat and must be >= 0: %w", b.skip, ErrArgument)
	}
	if b.balanced && !b.shuffle {
		return nil, fmt.Errorf("data: NewBatches: WithClassBalance needs WithShuffle's seed: %w", ErrArgument)
	}
	if b.balanced {
		if err := needSingleLabel(s, "NewBatches with WithClassBalance"); err != nil {
			return nil, err
		}
	}
	if batchSize < 1 || ((b.dropLast || b.repeat) && batchSize > s.N) {
		return nil, fmt.Errorf("data: NewBatches: batch size %d for split %q of %d examples: %w", batchSize, s.Name, s.N, ErrArgument)
	}
	return b, nil
}

// Name implements train.Dataset.
func (b *Batches) Name() string { return b.name }

// Reset sets the epoch counter back to 0, so the next Iter replays the first epoch's order.
func (b *Batches) Reset() {
	b.mu.Lock()
	b.epoch = 0
	b.mu.Unlock()
}

// Epoch returns the number of the epoch the next Iter (or the running one) starts with.
func (b *Batches) Epoch() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.epoch
}

// StepsPerEpoch returns the number of batches in one epoch (with WithRepeat, rounded down).
func (b *Batches) StepsPerEpoch() int {
	if b.dropLast || b.repeat {
		return b.split.N / b.batchSize
	}
	return (b.split.N + b.batchSize - 1) / b.batchSize
}

// ImagesOnly reports whether the batches have no labels (WithImagesOnly).
func (b *Batches) ImagesOnly() bool { return b.imagesOnly }

// order returns the visiting order of epoch e.
func (b *Batches) order(e int) []int {
	switch {
	case b.balanced:
		return BalancedOrder(b.split.Labels, b.split.NumClasses, b.seed, e)
	case b.shuffle:
		return ShuffledOrder(b.split.N, b.seed, e)
	}
	return allIndices(b.split.N)
}

// nextEpoch returns the current epoch number and advances the counter.
func (b *Batches) nextEpoch() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.epoch
	b.epoch++
	return e
}

// Iter implements train.Dataset: one epoch, or endless epochs with WithRepeat.
func (b *Batches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		for idx := range b.BatchIndices() {
			if !yield(b.batch(idx), nil) {
				return
			}
		}
	}
}

// BatchIndices yields each batch's example indices, in the order Iter serves them: one
// epoch, or with WithRepeat endless epochs whose batches run across epoch boundaries,
// after skipping the first WithSkip batches. Like Iter it advances the epoch counter.
// The slices are the caller's: no two share memory and none is used again. Datasets that
// build their batches themselves (data/stream decodes images from disk) draw their
// indices here, so they serve exactly the batches of the in-memory split.
func (b *Batches) BatchIndices() iter.Seq[[]int] {
	return func(yield func([]int) bool) {
		if b.repeat {
			var pending []int // examples not yet served, across epoch boundaries
			skip := b.skip
			for {
				pending = append(pending, b.order(b.nextEpoch())...)
				n := 0
				for ; len(pending)-n >= b.batchSize; n += b.batchSize {
					if skip > 0 {
						skip--
						continue
					}
					if !yield(slices.Clone(pending[n : n+b.batchSize])) {
						return
					}
				}
				pending = append(pending[:0], pending[n:]...)
			}
		}
		order := b.order(b.nextEpoch())
		for start := 0; start < len(order); start += b.batchSize {
			end := min(start+b.batchSize, len(order))
			if end-start < b.batchSize && b.dropLast {
				return
			}
			if !yield(order[start:end]) {
				return
			}
		}
	}
}

// batch builds one train.Batch from the given examples.
func (b *Batches) batch(indices []int) train.Batch {
	out := train.Batch{Inputs: []*tensors.Tensor{b.split.imagesTensor(indices)}}
	if !b.imagesOnly {
		out.Labels = []*tensors.Tensor{b.split.labelsTensor(indices)}
	}
	return out
}

var _ train.Dataset = (*Batches)(nil)
