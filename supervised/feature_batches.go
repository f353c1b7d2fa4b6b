package supervised

import (
	"iter"
	"sync"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl/data"
)

// featureBatches serves feature vectors and their labels as a train.Dataset, one epoch per
// Iter, in data.ShuffledOrder (or data.BalancedOrder when balanced) of the epoch, with a
// smaller last batch: what data.Batches does for images.
type featureBatches struct {
	feats      [][]float32
	labels     []int32
	numClasses int
	multiLabel bool // labels are numClasses 0/1 values per example, served as float32 [B, L]
	batch      int
	seed       int64
	balanced   bool

	mu    sync.Mutex
	epoch int
}

func (b *featureBatches) Name() string { return "features" }

func (b *featureBatches) Reset() {
	b.mu.Lock()
	b.epoch = 0
	b.mu.Unlock()
}

func (b *featureBatches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		b.mu.Lock()
		e := b.epoch
		b.epoch++
		b.mu.Unlock()
		order := data.ShuffledOrder(len(b.feats), b.seed, e)
		if b.balanced {
			order = data.BalancedOrder(b.labels, b.numClasses, b.seed, e)
		}
		dim := len(b.feats[0])
		for start := 0; start < len(order); start += b.batch {
			idx := order[start:min(start+b.batch, len(order))]
			x := make([]float32, 0, len(idx)*dim)
			for _, j := range idx {
				x = append(x, b.feats[j]...)
			}
			batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(x, len(idx), dim)}}
			if b.multiLabel {
				L := b.numClasses
				y := make([]float32, 0, len(idx)*L)
				for _, j := range idx {
					y = append(y, multiLabelLabels(b.labels[j*L:(j+1)*L])...)
				}
				batch.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, len(idx), L)}
			} else {
				y := make([]int32, len(idx))
				for i, j := range idx {
					y[i] = b.labels[j]
				}
				batch.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(y, len(idx))}
			}
			if !yield(batch, nil) {
				return
			}
		}
	}
}

var _ train.Dataset = (*featureBatches)(nil)
