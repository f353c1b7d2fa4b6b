package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
)

// Genesis is Models Genesis (Zhou et al., MICCAI 2019; Medical Image Analysis 2021): the
// encoder learns by restoring images from distortions that hide their appearance,
// texture and context, reconstructed by an encoder–decoder (a U-Net: the encoder's
// feature maps and models.UNetDecoder, sigmoid output) with the mean squared error to the
// undistorted image. The decoder is thrown away after pretraining; the encoder's weights
// are saved like every method's.
//
// Each image of a batch goes through, in the paper's order and with its probabilities:
//  1. local pixel shuffling (probability LocalRate): the pixels inside each small block
//     are permuted at random (texture is lost, the global shape kept);
//  2. a non-linear intensity transformation (NonlinearRate): a random monotone cubic
//     Bézier curve through (0, 0) and (1, 1) maps the intensities, reversed in half of the
//     cases (the restoration must learn absolute appearance);
//  3. with probability PaintRate, in-painting (InpaintRate of those) or out-painting:
//     in-painting fills up to 5 boxes of ⅙–⅓ of each side with uniform noise (each box
//     after the first with probability 0.95 given the previous one); out-painting fills
//     the whole image with noise except up to 5 boxes of 3/7–4/7 of each side, which keep
//     the image (context must be extrapolated).
//
// The distortions are drawn and applied inside the graph, from the scope's random state,
// like every other pretext's: Pretrain and its data sources stay unchanged, batches stay
// whole tensors, and a resumed run draws what an uninterrupted one would. Two
// simplifications against the reference code (which draws 10,000 overlapping windows of
// random sizes up to a tenth of each side per 3D cube): pixels are shuffled within the
// blocks of a fixed grid of ShuffleBlock×ShuffleBlock pixels, every block of a shuffled
// image; and the Bézier curve is sampled at BezierKnots points (a piecewise-linear curve
// against the reference's 100,000), an error below 10⁻³ of the intensity range at the
// default. Image sides must be multiples of ShuffleBlock.
type Genesis struct {
	LocalRate, NonlinearRate, PaintRate, InpaintRate float64
	// ShuffleBlock is the side in pixels of the shuffled blocks.
	ShuffleBlock int
	// BezierKnots is the number of points at which the intensity curve is sampled.
	BezierKnots int
}

// NewGenesis returns Models Genesis with the reference configuration's rates (local
// shuffling 0.5, non-linear 0.9, painting 0.9 of which in-painting 0.2) on 4-pixel blocks
// and a 64-knot intensity curve.
func NewGenesis() *Genesis {
	return &Genesis{LocalRate: 0.5, NonlinearRate: 0.9, PaintRate: 0.9, InpaintRate: 0.2, ShuffleBlock: 4, BezierKnots: 64}
}

// Name implements Method.
func (m *Genesis) Name() string { return "genesis" }

// Views implements Method: one view, which the method distorts itself.
func (m *Genesis) Views() int { return 1 }

// Loss implements Method.
func (m *Genesis) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	pred, target, _ := m.Reconstruct(scope, enc, views[0])
	return GenesisLoss(pred, target)
}

// GenesisLoss is the restoration loss: the mean over pixels and channels of (pred − target)².
func GenesisLoss(pred, target *graph.Node) *graph.Node {
	return graph.ReduceAllMean(graph.Square(graph.Sub(pred, target)))
}

// denseOf returns enc's feature maps or panics (Pretrain turns it into an error).
func denseOf(enc models.Encoder, method string) models.DenseEncoder {
	d, err := models.DenseOf(enc)
	if err != nil {
		exceptions.Panicf("ssl: %s needs an encoder with feature maps for its decoder: %v", method, err)
	}
	return d
}

// Reconstruct distorts images [B, H, W, C] (see Genesis), restores them with the
// encoder–decoder and returns the restoration (sigmoid, in [0, 1]), the target (the
// images) and the distorted input, all [B, H, W, C].
func (m *Genesis) Reconstruct(scope *model.Scope, enc models.Encoder, images *graph.Node) (pred, target, distorted *graph.Node) {
	dense := denseOf(enc, "genesis")
	ms := MethodScope(scope, m)
	distorted = m.Distort(ms, images)
	maps := dense.FeatureMaps(EncoderScope(scope), distorted)
	c := images.Shape().Dimensions[3]
	pred = graph.Sigmoid(models.UNetDecoder(ms.In("decoder"), maps, distorted, c))
	return pred, images, distorted
}

// Distort applies Models Genesis' distortions to images [B, H, W, C] in [0, 1], drawing
// every random choice per image from scope's random state.
func (m *Genesis) Distort(scope *model.Scope, images *graph.Node) *graph.Node {
	if m.ShuffleBlock < 1 || m.BezierKnots < 2 {
		exceptions.Panicf("ssl: genesis ShuffleBlock %d and BezierKnots %d: want >= 1 and >= 2", m.ShuffleBlock, m.BezierKnots)
	}
	g := images.Graph()
	dt := images.DType()
	d := images.Shape().Dimensions
	b, h, w := d[0], d[1], d[2]
	coin := func(p float64) *graph.Node {
		return graph.LessThan(scope.RandomUniform(g, shapes.Make(dt, b)), graph.Scalar(g, dt, p))
	}
	x := images
	if m.LocalRate > 0 {
		s := m.ShuffleBlock
		if h%s != 0 || w%s != 0 {
			exceptions.Panicf("ssl: genesis: image %dx%d is not a multiple of ShuffleBlock %d", h, w, s)
		}
		noise := scope.RandomUniform(g, shapes.Make(dt, b, (h/s)*(w/s), s*s))
		x = graph.Where(coin(m.LocalRate), LocalShuffle(x, s, RandomRanks(noise)), x)
	}
	if m.NonlinearRate > 0 {
		ctrl := scope.RandomUniform(g, shapes.Make(dt, b, 4))
		x = graph.Where(coin(m.NonlinearRate), BezierIntensity(x, ctrl, coin(0.5), m.BezierKnots), x)
	}
	if m.PaintRate > 0 {
		const boxes = 5
		noise := scope.RandomUniform(g, images.Shape())
		// A box after the first is drawn with probability 0.95 given the one before it.
		chain := graph.LessThan(scope.RandomUniform(g, shapes.Make(dt, b, boxes)), graph.Scalar(g, dt, 0.95))
		// Box k of in-painting needs coins 0…k; of out-painting, coins 0…k−1 (the first box
		// always): a running count of failed coins says which.
		failed := graph.CumSum(graph.ConvertDType(graph.LogicalNot(chain), dt), 1) // [B, boxes]
		zero := graph.ScalarZero(g, dt)
		inActive := graph.ConvertDType(graph.Equal(failed, zero), dt)
		before := graph.Sub(failed, graph.ConvertDType(graph.LogicalNot(chain), dt)) // failures among coins 0…k−1
		outActive := graph.ConvertDType(graph.Equal(before, zero), dt)
		inBoxes := randomBoxes(scope, g, dt, b, boxes, h, w, [2]float64{1.0 / 6, 1.0 / 3})
		outBoxes := randomBoxes(scope, g, dt, b, boxes, h, w, [2]float64{3.0 / 7, 4.0 / 7})
		painted := graph.Where(coin(m.InpaintRate), Inpaint(x, inBoxes, inActive, noise), Outpaint(x, outBoxes, outActive, noise))
		x = graph.Where(coin(m.PaintRate), painted, x)
	}
	return x
}

// RandomRanks returns, along the last axis of noise [..., n], the rank of each value
// among the n (ties broken by position): a uniformly random permutation of 0…n−1 per row
// for independent uniform noise, as int32. It compares all pairs, n² per row, which for
// small n (a shuffle block's pixels) the pure-Go backend runs much faster than a sort.
func RandomRanks(noise *graph.Node) *graph.Node {
	r := noise.Rank()
	n := noise.Shape().Dimensions[r-1]
	g := noise.Graph()
	a := graph.InsertAxes(noise, -1)  // [..., n, 1]: value j
	bb := graph.InsertAxes(noise, -2) // [..., 1, n]: value i
	idx := graph.Iota(g, shapes.Make(dtypes.Int32, n, n), 0)
	jdx := graph.Iota(g, shapes.Make(dtypes.Int32, n, n), 1)
	earlier := graph.ExpandLeftToRank(graph.LessThan(jdx, idx), r+1) // [1, …, n, n]: i < j
	before := graph.LogicalOr(graph.LessThan(bb, a), graph.LogicalAnd(graph.Equal(bb, a), earlier))
	return graph.ReduceSum(graph.ConvertDType(before, dtypes.Int32), -1)
}

// randomBoxes draws boxes [B, n, 4] = (y0, x0, height, width) in whole pixels, each side a
// whole number drawn uniformly in [⌊frac[0]·side⌋, ⌊frac[1]·side⌋] and each corner so that
// the box stays 3 pixels inside the image where it fits (as the reference's
// randint(3, side − size − 3)), else at 0.
func randomBoxes(scope *model.Scope, g *graph.Graph, dt dtypes.DType, b, n, h, w int, frac [2]float64) *graph.Node {
	u := scope.RandomUniform(g, shapes.Make(dt, b, n, 4))
	col := func(i int) *graph.Node { return graph.Squeeze(graph.SliceAxis(u, 2, graph.AxisElem(i)), 2) }
	side := func(ui *graph.Node, n int) *graph.Node {
		lo, hi := int(frac[0]*float64(n)), int(frac[1]*float64(n))
		lo = max(lo, 1)
		hi = max(hi, lo)
		return graph.AddScalar(graph.Floor(graph.MulScalar(ui, float64(hi-lo+1))), float64(lo))
	}
	corner := func(ui, size *graph.Node, n int) *graph.Node {
		span := graph.MaxScalar(graph.Sub(graph.Scalar(g, dt, n-6+1), size), 1) // positions 3 … n−size−3
		start := graph.AddScalar(graph.Floor(graph.Mul(ui, span)), 3)
		fits := graph.GreaterOrEqual(graph.Sub(graph.Scalar(g, dt, n-6), size), graph.ScalarZero(g, dt))
		return graph.Where(fits, start, graph.ZerosLike(start))
	}
	bh, bw := side(col(0), h), side(col(1), w)
	return graph.Stack([]*graph.Node{corner(col(2), bh, h), corner(col(3), bw, w), bh, bw}, 2)
}

// boxMask returns [B, H, W, 1] with 1 where a pixel lies in one of the active boxes
// (boxes [B, n, 4] = (y0, x0, height, width), active [B, n] of 0/1) and 0 elsewhere.
func boxMask(images, boxes, active *graph.Node) *graph.Node {
	g := images.Graph()
	dt := images.DType()
	d := images.Shape().Dimensions
	h, w := d[1], d[2]
	col := func(i int) *graph.Node { return graph.SliceAxis(boxes, 2, graph.AxisElem(i)) } // [B, n, 1]
	iy := graph.Iota(g, shapes.Make(dt, 1, 1, h, 1), 2)
	ix := graph.Iota(g, shapes.Make(dt, 1, 1, 1, w), 3)
	y0, x0 := graph.InsertAxes(col(0), -1), graph.InsertAxes(col(1), -1) // [B, n, 1, 1]
	y1, x1 := graph.Add(y0, graph.InsertAxes(col(2), -1)), graph.Add(x0, graph.InsertAxes(col(3), -1))
	inside := graph.LogicalAnd(graph.LogicalAnd(graph.GreaterOrEqual(iy, y0), graph.LessThan(iy, y1)),
		graph.LogicalAnd(graph.GreaterOrEqual(ix, x0), graph.LessThan(ix, x1))) // [B, n, H, W]
	m := graph.Mul(graph.ConvertDType(inside, dt), graph.InsertAxes(graph.InsertAxes(active, -1), -1))
	return graph.InsertAxes(graph.ReduceMax(m, 1), -1)
}

// Inpaint replaces the pixels of images [B, H, W, C] inside the active boxes (see
// boxMask) by the values of noise (same shape).
func Inpaint(images, boxes, active, noise *graph.Node) *graph.Node {
	m := boxMask(images, boxes, active)
	return graph.Add(graph.Mul(m, noise), graph.Mul(graph.OneMinus(m), images))
}

// Outpaint replaces every pixel of images outside the active boxes by noise.
func Outpaint(images, boxes, active, noise *graph.Node) *graph.Node {
	m := boxMask(images, boxes, active)
	return graph.Add(graph.Mul(m, images), graph.Mul(graph.OneMinus(m), noise))
}

// LocalShuffle permutes the pixels within each block×block block of images [B, H, W, C]
// (H, W multiples of block): perm [B, nb, block²] (integer, nb = (H/block)·(W/block)
// blocks in row-major order) gives, for each block, the block pixel (row-major inside the
// block) each of its pixels takes: out pixel j of block k is in pixel perm[b, k, j].
// Channels move together.
func LocalShuffle(images *graph.Node, block int, perm *graph.Node) *graph.Node {
	d := images.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	s := block
	gh, gw := h/s, w/s
	x := graph.Reshape(images, b, gh, s, gw, s, c)
	x = graph.TransposeAllAxes(x, 0, 1, 3, 2, 4, 5) // [B, gh, gw, s, s, C]
	x = graph.Reshape(x, b, gh*gw, s*s, c)
	onehot := graph.OneHot(perm, s*s, images.DType()) // [B, nb, s², s²]
	x = graph.Einsum("bkji,bkic->bkjc", onehot, x)
	x = graph.Reshape(x, b, gh, gw, s, s, c)
	x = graph.TransposeAllAxes(x, 0, 1, 3, 2, 4, 5)
	return graph.Reshape(x, b, h, w, c)
}

// BezierIntensity maps the intensities of images [B, H, W, C] in [0, 1] through a cubic
// Bézier curve per image with control points (0, 0), (x1, y1), (x2, y2), (1, 1) from
// ctrl [B, 4] = (x1, y1, x2, y2) in [0, 1]: x(t) and y(t) are sampled at knots points
// t_k = k/(knots−1) and the intensity v becomes the piecewise-linear interpolation of the
// points (x(t_k), y(t_k)) at v (numpy.interp: x(t) increases with t for control points in
// the unit square). Where flip [B] (Bool) is set, the points are (x(t_k), y(1 − t_k)),
// which maps 0 to 1 and 1 to 0: the reference's pairing of sorted x with unsorted y.
func BezierIntensity(images, ctrl, flip *graph.Node, knots int) *graph.Node {
	g := images.Graph()
	dt := images.DType()
	b := images.Shape().Dimensions[0]
	t := graph.Iota(g, shapes.Make(dt, 1, knots), 1)
	t = graph.DivScalar(t, float64(knots-1))                                            // [1, T]
	p := func(i int) *graph.Node { return graph.SliceAxis(ctrl, 1, graph.AxisElem(i)) } // [B, 1]
	cubic := func(t, a, c *graph.Node) *graph.Node {                                    // 3(1−t)²t·a + 3(1−t)t²·c + t³
		u := graph.OneMinus(t)
		return graph.Add(graph.Add(graph.Mul(graph.MulScalar(graph.Mul(graph.Mul(u, u), t), 3), a),
			graph.Mul(graph.MulScalar(graph.Mul(graph.Mul(u, t), t), 3), c)), graph.Mul(graph.Mul(t, t), t))
	}
	xs := cubic(t, p(0), p(2))                                                                                // [B, T]
	ys := graph.Where(graph.InsertAxes(flip, -1), cubic(graph.OneMinus(t), p(1), p(3)), cubic(t, p(1), p(3))) // [B, T]
	x0 := graph.SliceAxis(xs, 1, graph.AxisRange(0, knots-1))
	dx := graph.Sub(graph.SliceAxis(xs, 1, graph.AxisRange(1, knots)), x0)
	dy := graph.Sub(graph.SliceAxis(ys, 1, graph.AxisRange(1, knots)), graph.SliceAxis(ys, 1, graph.AxisRange(0, knots-1)))
	slope := graph.Div(dy, graph.MaxScalar(dx, 1e-12)) // a segment of zero width contributes nothing
	shape := func(v *graph.Node) *graph.Node { return graph.Reshape(v, b, 1, 1, 1, knots-1) }
	v := graph.InsertAxes(images, -1) // [B, H, W, C, 1]
	seg := graph.Min(graph.MaxScalar(graph.Sub(v, shape(x0)), 0), shape(dx))
	y0 := graph.Reshape(graph.SliceAxis(ys, 1, graph.AxisElem(0)), b, 1, 1, 1)
	return graph.Add(y0, graph.ReduceSum(graph.Mul(seg, shape(slope)), -1))
}

func init() { Register("genesis", func() Method { return NewGenesis() }) }
