package data

import "github.com/gomlx/gomlx/ml/train"

// Source is what self-supervised pretraining reads: unlabelled images of one shape,
// served as endless, reproducible, shuffled batches. A Split held in memory is a Source;
// so is a folder streamed from disk (data/stream's Stream).
type Source interface {
	// Len is the number of images in one epoch.
	Len() int
	// ImageShape is (height, width, channels) of every image.
	ImageShape() (h, w, c int)
	// ImageBatches returns an endless train.Dataset of full image batches (Inputs:
	// float32 [B,H,W,C] in [0,1]; no labels). The order depends only on seed; the first
	// skip batches are left out, so a resumed run sees the stream an uninterrupted run
	// would.
	ImageBatches(batchSize int, seed int64, skip int) (train.Dataset, error)
}

// Len implements Source.
func (s *Split) Len() int { return s.N }

// ImageShape implements Source.
func (s *Split) ImageShape() (h, w, c int) { return s.Height, s.Width, s.Channels }

// ImageBatches implements Source with NewBatches.
func (s *Split) ImageBatches(batchSize int, seed int64, skip int) (train.Dataset, error) {
	return NewBatches(s, batchSize, WithShuffle(seed), WithRepeat(), WithImagesOnly(), WithSkip(skip))
}

var _ Source = (*Split)(nil)
