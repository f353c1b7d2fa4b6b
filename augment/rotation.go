package augment

import (
	"math"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// RandomRotation rotates each image about its center by an angle drawn uniformly from
// [−Degrees, +Degrees] per sample (counterclockwise positive, as torchvision), with
// bilinear interpolation; pixels that come from outside the image get Fill.
type RandomRotation struct {
	Degrees float64 // maximum absolute angle in degrees; default 15
	Fill    float64 // value of pixels from outside the image; default 0 (black)
}

// NewRandomRotation returns ±15° with fill 0.
func NewRandomRotation() RandomRotation { return RandomRotation{Degrees: 15} }

// Apply implements Transform.
func (t RandomRotation) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("RandomRotation", images)
	if t.Degrees == 0 {
		return images
	}
	rad := t.Degrees * math.Pi / 180
	angles := uniform(scope, images.Graph(), images.DType(), -rad, rad, b)
	return Rotate(images, angles, t.Fill)
}

// Rotate rotates sample b of images [B, H, W, C] counterclockwise by angles[b] radians about
// the image center ((H−1)/2, (W−1)/2), sampling bilinearly; samples from outside the image
// read fill (zero padding when fill is 0, as grid_sample's padding_mode="zeros").
//
// Output pixel (i, j), with (dy, dx) = (i − cy, j − cx), reads the input at
//
//	x = cx + dx·cos θ − dy·sin θ,  y = cy + dx·sin θ + dy·cos θ.
//
// It is a single batched gather of the 4 neighbors of every output pixel; a separable
// (matrix-product) form does not exist for general angles.
func Rotate(images, angles *Node, fill float64) *Node {
	checkImages("Rotate", images)
	sy, sx := rotationSources(images, angles)
	return bilinearSample(images, sy, sx, fill)
}

// rotationSources returns where each output pixel of a rotation by angles [B] reads the
// input images [B, H, W, C]: (sy, sx) [B, H, W], the formula of Rotate.
func rotationSources(images, angles *Node) (sy, sx *Node) {
	b, h, w, _ := checkImages("Rotate", images)
	g := images.Graph()
	dt := images.DType()
	cy, cx := float64(h-1)/2, float64(w-1)/2
	dy := graph.AddScalar(graph.Iota(g, shapesOf(dt, 1, h, w), 1), -cy) // [1, H, W]
	dx := graph.AddScalar(graph.Iota(g, shapesOf(dt, 1, h, w), 2), -cx)
	cos := graph.Reshape(graph.Cos(angles), b, 1, 1)
	sin := graph.Reshape(graph.Sin(angles), b, 1, 1)
	sx = graph.AddScalar(graph.Sub(graph.Mul(dx, cos), graph.Mul(dy, sin)), cx) // [B, H, W]
	sy = graph.AddScalar(graph.Add(graph.Mul(dx, sin), graph.Mul(dy, cos)), cy)
	return sy, sx
}

// bilinearSample reads images [B, H, W, C] at fractional positions (sy, sx) [B, Ho, Wo]
// (in pixel indices), with out-of-image neighbors reading fill.
//
// The images are padded by 2 pixels of fill on every side and the positions clamped to
// [−2, H] × [−2, W]: then all 4 neighbors are valid indices of the padded image, positions
// far outside read only fill, and no per-neighbor masks are needed.
func bilinearSample(images, sy, sx *Node, fill float64) *Node {
	b, h, w, c := checkImages("bilinearSample", images)
	g := images.Graph()
	dt := images.DType()
	const pad = 2
	hp, wp := h+2*pad, w+2*pad
	padded := graph.Pad(images, graph.Scalar(g, dt, fill),
		graph.PadAxis{}, graph.PadAxis{Start: pad, End: pad}, graph.PadAxis{Start: pad, End: pad}, graph.PadAxis{})
	sy = graph.ClipScalar(sy, -pad, float64(h))
	sx = graph.ClipScalar(sx, -pad, float64(w))
	y0 := graph.Floor(sy)
	x0 := graph.Floor(sx)
	fy := graph.Sub(sy, y0)
	fx := graph.Sub(sx, x0)
	// Flat index of the top-left neighbor in the padded batch, then the 4 neighbors
	// (y0,x0), (y0,x0+1), (y0+1,x0), (y0+1,x0+1) as constant offsets.
	bi := graph.Iota(g, shapesInt32(b, 1, 1), 0)
	yi := graph.ConvertDType(graph.AddScalar(y0, pad), dtypesInt32)
	xi := graph.ConvertDType(graph.AddScalar(x0, pad), dtypesInt32)
	base := graph.Add(graph.Mul(graph.Add(graph.MulScalar(bi, hp), yi), graph.Scalar(g, dtypesInt32, wp)), xi) // [B, Ho, Wo]
	offsets := graph.Const(g, [][][][]int32{{{{0, 1, int32(wp), int32(wp) + 1}}}})
	idx := graph.Add(graph.InsertAxes(base, -1), offsets)                              // [B, Ho, Wo, 4]
	vals := graph.Gather(graph.Reshape(padded, b*hp*wp, c), graph.InsertAxes(idx, -1)) // [B, Ho, Wo, 4, C]
	gy, gx := graph.OneMinus(fy), graph.OneMinus(fx)
	wts := graph.Stack([]*Node{graph.Mul(gy, gx), graph.Mul(gy, fx), graph.Mul(fy, gx), graph.Mul(fy, fx)}, -1)
	return graph.ReduceSum(graph.Mul(vals, graph.InsertAxes(wts, -1)), 3)
}
