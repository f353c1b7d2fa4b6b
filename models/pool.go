package models

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// MaxPool2D takes the maximum of x [B, H, W, C] over window×window windows with the given
// stride and symmetric padding (padded positions never win), per channel: [B, Ho, Wo, C]
// with Ho = (H + 2·padding − window)/stride + 1. Its gradient goes, in each window, to the
// first maximum in row-major order, as PyTorch's max_pool2d does.
//
// It is graph.MaxPool on backends with a native implementation (XLA). On the go backend,
// whose windowed reduction and its gradient (SelectAndScatter) walk every window element by
// element (more than half of the ResNet-18 step at 128 px, where the standard stem pools),
// it gathers the window's taps as blocks (blockTaps), takes their maximum and
// keeps the winning tap's index for a hand-written backward pass.
func MaxPool2D(x *Node, window, stride, padding int) *Node {
	if x.Rank() != 4 {
		exceptions.Panicf("models.MaxPool2D: x must be [B, H, W, C], got %s", x.Shape())
	}
	if window < 1 || stride < 1 || padding < 0 || padding >= window {
		exceptions.Panicf("models.MaxPool2D: want window >= 1, stride >= 1 and 0 <= padding < window, got window=%d stride=%d padding=%d", window, stride, padding)
	}
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	if h+2*padding < window || w+2*padding < window {
		exceptions.Panicf("models.MaxPool2D: padded input %dx%d smaller than the window %d", h+2*padding, w+2*padding, window)
	}
	if !isGoBackend(x.Graph()) {
		return MaxPool(x).Window(window).Strides(stride).PaddingPerDim([][2]int{{padding, padding}, {padding, padding}}).Done()
	}
	g := x.Graph()
	ho, wo := (h+2*padding-window)/stride+1, (w+2*padding-window)/stride+1
	taps := blockTaps(x, Scalar(g, x.DType(), math.Inf(-1)), nil, window, window, stride, padding, ho, wo) // [K, B, Ho, 1, Wo, 1, C]
	k, n := window*window, b*ho*wo*c
	taps = Reshape(taps, k, n)
	var winner *Node // [N] int32: the first tap holding the maximum
	y := withBackward([]*Node{taps},
		func(ids []*Node) *Node {
			winner = ArgMax(ids[0], 0)
			return ReduceMax(ids[0], 0)
		},
		func(dy *Node) []*Node {
			tap := Iota(g, shapes.Make(dtypes.Int32, k, n), 0)
			won := Equal(tap, BroadcastToDims(ExpandAxes(winner, 0), k, n))
			dyTaps := BroadcastToDims(ExpandAxes(Reshape(dy, n), 0), k, n)
			return []*Node{Where(won, dyTaps, ZerosLike(dyTaps))}
		})
	return Reshape(y, b, ho, wo, c)
}
