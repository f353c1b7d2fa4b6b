package models

import (
	"runtime"
	"sync"
	"weak"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Conv2D convolves channels-last images x [B, H, W, C] with kernel [KH, KW, C, O], with the
// given stride and symmetric zero padding, and returns [B, Ho, Wo, O] where
// Ho = (H + 2·padding − KH)/stride + 1 (and likewise Wo).
//
// It computes the same function as GoMLX's graph.Convolve (cross-correlation, no kernel
// flip), and is graph.Convolve on backends with a native convolution (XLA). On the pure-Go
// backend, whose generic convolution is tens of times slower (BenchmarkConv2DStock), it is
// "im2col" in the graph: the KH·KW shifted, strided windows of x gathered into a
// [B·Ho·Wo, KH·KW·C] matrix (im2col) and one matrix product with the kernel flattened to
// [KH·KW·C, O], with a hand-written backward pass that the backend runs without
// transposing anything larger than the output (convProduct). A 1×1 stride-1 convolution is
// a single matrix product. A 3×3 stride-1 convolution with padding 1, at least 16 input
// channels and an even-sized input is Winograd's F(2×2, 3×3) (winograd3x3): fewer
// multiplications for more memory traffic, measured faster on those layers and slower on
// odd sizes (a quarter of the tiles wasted at 7×7) and with 8 channels (10% at 28×28,
// batch 256: its gathers copy runs of 8 values); see BenchmarkWinograd. (Computing a
// stride-1 convolution's input gradient as a convolution of the output gradient with the
// flipped kernel, instead of a product and a scatter-add, was measured slower: 41 against
// 43 pairs/s for the SimCLR ResNet-18 step.)
func Conv2D(x, kernel *Node, stride, padding int) *Node {
	if x.Rank() != 4 || kernel.Rank() != 4 {
		exceptions.Panicf("models.Conv2D: x must be [B, H, W, C] and kernel [KH, KW, C, O], got x=%s kernel=%s",
			x.Shape(), kernel.Shape())
	}
	if stride < 1 || padding < 0 {
		exceptions.Panicf("models.Conv2D: stride must be >= 1 and padding >= 0, got stride=%d padding=%d", stride, padding)
	}
	b, h, w, c := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2], x.Shape().Dimensions[3]
	kh, kw, kc, o := kernel.Shape().Dimensions[0], kernel.Shape().Dimensions[1], kernel.Shape().Dimensions[2], kernel.Shape().Dimensions[3]
	if kc != c {
		exceptions.Panicf("models.Conv2D: kernel input channels %d do not match x channels %d (x=%s, kernel=%s)",
			kc, c, x.Shape(), kernel.Shape())
	}
	hp, wp := h+2*padding, w+2*padding
	if hp < kh || wp < kw {
		exceptions.Panicf("models.Conv2D: padded input %dx%d smaller than kernel %dx%d", hp, wp, kh, kw)
	}
	if !isGoBackend(x.Graph()) {
		return Convolve(x, kernel).Strides(stride).PaddingPerDim([][2]int{{padding, padding}, {padding, padding}}).Done()
	}
	ho, wo := (hp-kh)/stride+1, (wp-kw)/stride+1
	if kh == 1 && kw == 1 && stride == 1 && padding == 0 {
		// x is its own window matrix (in the backward pass a gated copy: a Reshape not gated
		// could copy x as early as the forward pass).
		flat := func(x, gate *Node) *Node { return Reshape(gated(x, gate), b*h*w, c) }
		return Reshape(convProduct(x, Reshape(kernel, c, o), flat), b, h, w, o)
	}
	if useWinograd && kh == 3 && kw == 3 && stride == 1 && padding == 1 && c >= 16 && h%2 == 0 && w%2 == 0 {
		return winograd3x3(x, kernel)
	}
	windows := func(x, gate *Node) *Node { return im2col(x, gate, kh, kw, stride, padding, ho, wo) } // [B·Ho·Wo, KH·KW·C]
	return Reshape(convProduct(x, Reshape(kernel, kh*kw*c, o), windows), b, ho, wo, o)
}

// useWinograd lets benchmarks compare Conv2D with and without winograd3x3.
var useWinograd = true

// isGoBackend tells whether g runs on GoMLX's pure-Go backend.
func isGoBackend(g *Graph) bool {
	b := g.Backend()
	return b != nil && b.String() == "go"
}

// withBackward returns forward(ids) with a hand-written backward pass: its gradients with
// respect to inputs are backward(dy), dy the gradient of the result, instead of what
// autodiff of forward's ops would give. backward returns one gradient per input and is
// built once, when autodiff first asks for one.
//
// forward receives identities of the inputs whose custom gradients hand out backward's
// results, and the result goes through an identity whose custom gradient captures dy.
// Autodiff still builds the gradients of forward's own ops, but nothing uses them, so the
// backend never runs them. The reverse pass visits nodes from the last built to the first,
// so the capture (built last) runs before the inputs' identities (built first); a gradient
// asked for before dy has arrived panics rather than being wrong. The identities cost
// nothing when their input has no other use (the backend hands the buffer over), else a
// copy: keep inputs small or used once.
func withBackward(inputs []*Node, forward func(ids []*Node) *Node, backward func(dy *Node) []*Node) *Node {
	var dy *Node
	var grads []*Node
	ids := make([]*Node, len(inputs))
	for i, in := range inputs {
		ids[i] = IdentityWithCustomGradient(in, func(_, _ *Node) *Node {
			if dy == nil {
				exceptions.Panicf("models: a hand-written backward pass was asked for its input gradients before its output gradient")
			}
			if grads == nil {
				grads = backward(dy)
			}
			return grads[i]
		})
	}
	return IdentityWithCustomGradient(forward(ids), func(_, v *Node) *Node {
		dy = v
		return v
	})
}

// convProduct returns cols [M, K] × kernel [K, O] as [M, O], where cols = windows(x), with
// a hand-written backward pass:
//
//	dcols = dy·kernelᵀ    (a product the go backend runs in place: both contract their last axis)
//	dkernel = (dyᵀ·cols)ᵀ (one transpose of dy, the size of the output; the product runs in place)
//
// and dx from dcols by autodiff of windows (the gather's scatter-add). Autodiff of the
// product would either transpose cols (KH·KW times the output's size) for the weight
// gradient or, computed as (kernelᵀ·colsᵀ)ᵀ, transpose three output-sized arrays per
// convolution, and GoMLX's product gradient copies its result once more through an identity
// transpose (a cols-sized copy for dcols).
//
// cols is not kept for the backward pass: it is gathered again from x once dy has arrived
// (a scheduling barrier keeps the go backend from running the copy early or merging it
// with the forward's). Keeping the windows of every convolution was most of the memory of
// a training step (6.4 GB of peak resident memory for the SimCLR ResNet-18 step at batch
// 128; see the README's speed table for what recomputing costs and saves).
func convProduct(x, kernel *Node, windows func(x, gate *Node) *Node) *Node {
	cols := windows(x, nil)
	return withBackward([]*Node{cols, kernel},
		func(ids []*Node) *Node { return Dot(ids[0], ids[1]).Product() },
		func(dy *Node) []*Node {
			again := windows(x, dy)
			dkt := Dot(Transpose(dy, 0, 1), again).General([]int{1}, nil, []int{0}, nil) // [O, K]
			// dcols after dkernel, so that the two cols-sized arrays are never alive together.
			dcols := Dot(SchedulingBarrier(dy, dkt), kernel).General([]int{1}, nil, []int{1}, nil) // [M, K]
			return []*Node{dcols, Transpose(dkt, 0, 1)}
		})
}

// maxPerPositionTaps bounds the size of the gather index constant of im2colPerPosition
// (3 int32 per tap): beyond it (large images), im2colBlocks is used.
const maxPerPositionTaps = 4 << 20

// im2col returns the windows of x [B, H, W, C] under each output position, as a matrix
// [B·Ho·Wo, KH·KW·C] whose columns are ordered (kernel row, kernel column, channel): the
// order of a [KH, KW, C, O] kernel flattened to [KH·KW·C, O].
//
// The go backend copies contiguous memory blocks fast (Gather, Concatenate, Pad, Transpose)
// but its Slice copies element by element, and the gradient of a Concatenate is a Slice. So
// the windows are gathered with GatherSlices, whose gradient is one ScatterSum (a
// vectorised add of contiguous blocks).
//
// A non-nil gate delays the gather until gate has been computed (see gated).
func im2col(x, gate *Node, kh, kw, stride, padding, ho, wo int) *Node {
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	if c >= 16 && b*ho*wo*kh*kw <= maxPerPositionTaps {
		return im2colPerPosition(x, gate, kh, kw, stride, padding, ho, wo)
	}
	return im2colBlocks(x, gate, kh, kw, stride, padding, ho, wo)
}

// im2colPerPosition gathers, for every output position and kernel tap, the C channels of
// the (zero-padded) input pixel under it: one gather whose output is already the
// [B, Ho, Wo, KH·KW, C] matrix, copying C contiguous values per index. Best when C is large
// enough for those copies to be efficient.
func im2colPerPosition(x, gate *Node, kh, kw, stride, padding, ho, wo int) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	if padding > 0 {
		x = Pad(x, gated(ScalarZero(g, x.DType()), gate),
			compute.PadAxis{}, compute.PadAxis{Start: padding, End: padding},
			compute.PadAxis{Start: padding, End: padding}, compute.PadAxis{})
		gate = nil // the gather waits for the padding
	}
	indices := gated(perPositionIndices(g, b, ho, wo, kh, kw, stride), gate)
	taps := GatherSlices(x, []int{0, 1, 2}, indices, []int{1, 1, 1}, true)
	return Reshape(taps, b*ho*wo, kh*kw*c)
}

// im2colBlocks gathers each kernel tap as one rectangular block (blockTaps), then transposes
// the gathered [KH·KW, B·Ho·Wo, C] to [B·Ho·Wo, KH·KW, C]. Used when C is small (the first
// layer) or the images are large.
func im2colBlocks(x, gate *Node, kh, kw, stride, padding, ho, wo int) *Node {
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	taps := blockTaps(x, ScalarZero(x.Graph(), x.DType()), gate, kh, kw, stride, padding, ho, wo)
	// taps: [KH·KW, B, Ho, 1, Wo, 1, C]
	m := b * ho * wo
	if kh*kw == 1 {
		return Reshape(taps, m, c)
	}
	if c == 1 {
		return Reshape(Transpose(Reshape(taps, kh*kw, m), 0, 1), m, kh*kw)
	}
	taps = TransposeAllAxes(Reshape(taps, kh*kw, m, c), 1, 0, 2)
	return Reshape(taps, m, kh*kw*c)
}

// blockTaps gathers, for every tap (i, j) of a KH×KW window moved with the given stride
// over x [B, H, W, C] padded with padValue, the Ho×Wo input pixels under it:
// [KH·KW, B, Ho, 1, Wo, 1, C], taps in row-major order. x is padded and reshaped to
// [B, Hp/s, s, Wp/s, s, C] ("space to depth", s the stride), so that tap (i, j) is the plain
// rectangle starting at (i/s, i%s, j/s, j%s): one block copy of contiguous C values per
// pixel. A non-nil gate delays the padding and the gather until gate has been computed.
func blockTaps(x, padValue, gate *Node, kh, kw, stride, padding, ho, wo int) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	s := stride
	// Pad: the requested padding before, and after it enough for the padded sides to be
	// multiples of the stride with room for every tap's block (rows past the windows are
	// never read).
	hp := s * max((h+2*padding+s-1)/s, (kh-1)/s+ho)
	wp := s * max((w+2*padding+s-1)/s, (kw-1)/s+wo)
	if hp != h || wp != w {
		x = Pad(x, gated(padValue, gate),
			compute.PadAxis{}, compute.PadAxis{Start: padding, End: hp - h - padding},
			compute.PadAxis{Start: padding, End: wp - w - padding}, compute.PadAxis{})
	}
	x = Reshape(x, b, hp/s, s, wp/s, s, c)
	starts := make([][]int32, 0, kh*kw)
	for i := range kh {
		for j := range kw {
			starts = append(starts, []int32{int32(i / s), int32(i % s), int32(j / s), int32(j % s)})
		}
	}
	return GatherSlices(x, []int{1, 2, 3, 4}, gated(Const(g, starts), gate), []int{ho, 1, wo, 1}, true)
}

// gated returns n, made to wait for gate when gate is not nil. The backward passes gather
// windows and tiles again from x once the output gradient has arrived; gating x itself would
// copy it (the backend's barrier copies an operand that other ops still use, and x is the
// previous layer's output, used by its own backward pass), so the barrier goes on a small
// operand of the gather instead: its padding value or its start indices.
func gated(n, gate *Node) *Node {
	if gate == nil {
		return n
	}
	return SchedulingBarrier(n, gate)
}

// indexKey identifies a gather index constant within one graph: its kind and geometry.
type indexKey struct {
	graph    weak.Pointer[Graph]
	kind     string
	geometry [6]int
}

// indexCache shares the (large) gather index constants between the convolutions of one
// graph that have the same geometry, without keeping graphs alive.
var indexCache sync.Map // indexKey -> weak.Pointer[Node]

// sharedIndices returns the int32 constant of the given kind and geometry in g, built by
// build the first time it is asked for.
func sharedIndices(g *Graph, kind string, geometry [6]int, build func() *tensors.Tensor) *Node {
	key := indexKey{weak.Make(g), kind, geometry}
	if v, ok := indexCache.Load(key); ok {
		if n := v.(weak.Pointer[Node]).Value(); n != nil {
			return n
		}
	}
	n := Const(g, build())
	if _, loaded := indexCache.Swap(key, weak.Make(n)); !loaded {
		runtime.AddCleanup(g, func(k indexKey) { indexCache.Delete(k) }, key)
	}
	return n
}

// perPositionIndices returns the int32 constant [B, Ho, Wo, KH·KW, 3] of (batch, row,
// column) start indices, into the padded input, of every (output position, kernel tap).
func perPositionIndices(g *Graph, b, ho, wo, kh, kw, stride int) *Node {
	return sharedIndices(g, "im2col", [6]int{b, ho, wo, kh, kw, stride}, func() *tensors.Tensor {
		idx := make([]int32, 0, b*ho*wo*kh*kw*3)
		for bi := range b {
			for oi := range ho {
				for oj := range wo {
					for i := range kh {
						for j := range kw {
							idx = append(idx, int32(bi), int32(oi*stride+i), int32(oj*stride+j))
						}
					}
				}
			}
		}
		return tensors.FromFlatDataAndDimensions(idx, b, ho, wo, kh*kw, 3)
	})
}
