package data

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
)

// ImagesTensor returns all of s's images as float32 [N,H,W,C] scaled to [0, 1] (x/255),
// for inference on a whole split. For splits too large for one call, use Batches.
func (s *Split) ImagesTensor() *tensors.Tensor { return s.imagesTensor(allIndices(s.N)) }

// LabelsTensor returns all of s's labels: int32 [N] for single-label splits, float32
// [N,L] of 0/1 for multi-label splits.
func (s *Split) LabelsTensor() *tensors.Tensor { return s.labelsTensor(allIndices(s.N)) }

// ImagesFloat32 returns the given examples' images as float32 [len(indices)*H*W*C]
// (channels-last) scaled to [0, 1].
func (s *Split) ImagesFloat32(indices []int) []float32 {
	sz := s.ImageSize()
	out := make([]float32, len(indices)*sz)
	s.fillImages(out, indices)
	return out
}

func allIndices(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func (s *Split) fillImages(dst []float32, indices []int) {
	sz := s.ImageSize()
	for b, i := range indices {
		src := s.Images[i*sz : (i+1)*sz]
		out := dst[b*sz : (b+1)*sz]
		for j, v := range src {
			out[j] = float32(v) / 255
		}
	}
}

// imagesTensor gathers the given examples as float32 [B,H,W,C] in [0, 1].
func (s *Split) imagesTensor(indices []int) *tensors.Tensor {
	t := tensors.FromShape(shapes.Make(dtypes.Float32, len(indices), s.Height, s.Width, s.Channels))
	tensors.MustMutableFlatData(t, func(flat []float32) { s.fillImages(flat, indices) })
	return t
}

// labelsTensor gathers the given examples' labels: int32 [B], or float32 [B,L] for
// multi-label splits.
func (s *Split) labelsTensor(indices []int) *tensors.Tensor {
	if s.LabelDim == 1 && s.Task.SingleLabel() {
		t := tensors.FromShape(shapes.Make(dtypes.Int32, len(indices)))
		tensors.MustMutableFlatData(t, func(flat []int32) {
			for b, i := range indices {
				flat[b] = s.Labels[i]
			}
		})
		return t
	}
	L := s.LabelDim
	t := tensors.FromShape(shapes.Make(dtypes.Float32, len(indices), L))
	tensors.MustMutableFlatData(t, func(flat []float32) {
		for b, i := range indices {
			for j, v := range s.Labels[i*L : (i+1)*L] {
				flat[b*L+j] = float32(v)
			}
		}
	})
	return t
}
