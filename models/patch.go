package models

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Patchify cuts images [B, H, W, C] into non-overlapping patch×patch patches and returns
// them flattened, [B, N, patch·patch·C] with N = (H/patch)·(W/patch) in row-major grid
// order and each patch's pixels in (row, column, channel) order. A linear layer on this is
// the ViT patch embedding (a convolution with kernel = stride = patch); MAE uses it as the
// reconstruction target. H and W must be multiples of patch.
func Patchify(images *Node, patch int) *Node {
	if images.Rank() != 4 {
		exceptions.Panicf("models.Patchify: images must be [B, H, W, C], got %s", images.Shape())
	}
	dims := images.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	if patch <= 0 || h%patch != 0 || w%patch != 0 {
		exceptions.Panicf("models.Patchify: image %dx%d is not a multiple of patch size %d", h, w, patch)
	}
	gh, gw := h/patch, w/patch
	x := Reshape(images, b, gh, patch, gw, patch, c)
	x = TransposeAllAxes(x, 0, 1, 3, 2, 4, 5) // [B, gh, gw, p, p, C]
	return Reshape(x, b, gh*gw, patch*patch*c)
}

// SinCosPositions returns the fixed 2D sine-cosine position embeddings of MAE (He et al.
// 2022, get_2d_sincos_pos_embed) for a gh×gw grid, [gh·gw, dim] in row-major order: the
// first dim/2 features encode the row, the last dim/2 the column, each as
// [sin(p·ω_k)..., cos(p·ω_k)...] with ω_k = 10000^(-k/(dim/4)), k < dim/4. dim must be a
// multiple of 4.
func SinCosPositions(gh, gw, dim int) *tensors.Tensor {
	if dim%4 != 0 {
		exceptions.Panicf("models.SinCosPositions: width %d is not a multiple of 4", dim)
	}
	quarter := dim / 4
	out := make([]float32, gh*gw*dim)
	encode := func(dst []float32, pos float64) {
		for k := range quarter {
			omega := math.Pow(10000, -float64(k)/float64(quarter))
			dst[k] = float32(math.Sin(pos * omega))
			dst[quarter+k] = float32(math.Cos(pos * omega))
		}
	}
	for i := range gh {
		for j := range gw {
			row := out[(i*gw+j)*dim:]
			encode(row[:dim/2], float64(i))
			encode(row[dim/2:dim], float64(j))
		}
	}
	return tensors.FromFlatDataAndDimensions(out, gh*gw, dim)
}

// bilinearWeights is the [to, from] matrix of 1D linear interpolation from `from` samples
// to `to` samples with half-pixel centres and edge clamping (PyTorch's
// F.interpolate(mode="bilinear", align_corners=False) along one axis).
func bilinearWeights(from, to int) []float32 {
	w := make([]float32, to*from)
	scale := float64(from) / float64(to)
	for i := range to {
		src := (float64(i)+0.5)*scale - 0.5
		src = max(src, 0)
		i0 := min(int(math.Floor(src)), from-1)
		i1 := min(i0+1, from-1)
		frac := float32(src - float64(i0))
		w[i*from+i0] += 1 - frac
		w[i*from+i1] += frac
	}
	return w
}

// resizeGrid bilinearly resizes a grid of embeddings [gh0, gw0, D] to [gh, gw, D], as two
// small matrix products with constant interpolation weights (differentiable, exact at equal
// sizes).
func resizeGrid(grid *Node, gh, gw int) *Node {
	dims := grid.Shape().Dimensions
	gh0, gw0 := dims[0], dims[1]
	if gh0 == gh && gw0 == gw {
		return grid
	}
	g := grid.Graph()
	dt := grid.DType()
	wh := ConvertDType(Const(g, tensors.FromFlatDataAndDimensions(bilinearWeights(gh0, gh), gh, gh0)), dt)
	ww := ConvertDType(Const(g, tensors.FromFlatDataAndDimensions(bilinearWeights(gw0, gw), gw, gw0)), dt)
	x := Einsum("ia,abd->ibd", wh, grid)
	return Einsum("jb,ibd->ijd", ww, x)
}

// sinCosNode is SinCosPositions as a float32 constant [gh·gw, dim].
func sinCosNode(g *Graph, gh, gw, dim int) *Node {
	return Const(g, SinCosPositions(gh, gw, dim))
}
