package augment

import (
	"math"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// RandomResizedCrop crops a random box of each image and resizes it back, as
// torchvision's RandomResizedCrop (the SimCLR/BYOL crop).
//
// Box sampling follows torchvision: up to 10 tries of area fraction s ~ U(Scale) and
// log aspect ratio ~ U(log Ratio), box w = sqrt(s·H·W·r), h = sqrt(s·H·W/r); the first
// try that fits is used, else the whole image (center crop with the ratio clamped to
// Ratio). Unlike torchvision, box sizes and offsets are continuous (sub-pixel) rather than
// rounded to whole pixels. Resizing is bilinear (triangle filter, antialiased when the box
// is larger than the output) with edge replication; see CropResize.
type RandomResizedCrop struct {
	// Scale is the range of the box area as a fraction of the image area.
	// torchvision/SimCLR default (0.08, 1); MedicalDefault uses (0.35, 1).
	Scale [2]float64
	// Ratio is the range of the box aspect ratio width/height, sampled log-uniformly.
	// Default (3/4, 4/3).
	Ratio [2]float64
	// Height, Width of the output; 0 keeps the input size.
	Height, Width int
}

// NewRandomResizedCrop returns the torchvision defaults: Scale (0.08, 1), Ratio (3/4, 4/3),
// output size = input size.
func NewRandomResizedCrop() RandomResizedCrop {
	return RandomResizedCrop{Scale: [2]float64{0.08, 1}, Ratio: [2]float64{3.0 / 4.0, 4.0 / 3.0}}
}

// cropTries is torchvision's number of rejection-sampling tries.
const cropTries = 10

// Apply implements Transform.
func (t RandomResizedCrop) Apply(scope *model.Scope, images *Node) *Node {
	_, h, w, _ := checkImages("RandomResizedCrop", images)
	if t.Scale[0] <= 0 || t.Scale[1] < t.Scale[0] || t.Ratio[0] <= 0 || t.Ratio[1] < t.Ratio[0] {
		exceptions.Panicf("augment.RandomResizedCrop: invalid Scale %v or Ratio %v", t.Scale, t.Ratio)
	}
	outH, outW := t.Height, t.Width
	if outH == 0 {
		outH = h
	}
	if outW == 0 {
		outW = w
	}
	boxes := t.SampleBoxes(scope, images)
	return CropResize(images, boxes, outH, outW)
}

// SampleBoxes draws one box per sample as [B, 4] = (y0, x0, height, width) in pixels,
// following the sampling described on RandomResizedCrop.
func (t RandomResizedCrop) SampleBoxes(scope *model.Scope, images *Node) *Node {
	b, h, w, _ := checkImages("RandomResizedCrop", images)
	g := images.Graph()
	dt := images.DType()
	H, W := float64(h), float64(w)
	area := H * W

	// Fallback (torchvision): whole image, clamping its aspect ratio into Ratio, centered.
	fbW, fbH := W, H
	if inRatio := W / H; inRatio < t.Ratio[0] {
		fbH = W / t.Ratio[0]
	} else if inRatio > t.Ratio[1] {
		fbW = H * t.Ratio[1]
	}
	boxH := graph.Scalar(g, dt, fbH)
	boxW := graph.Scalar(g, dt, fbW)
	boxH = graph.BroadcastToDims(boxH, b)
	boxW = graph.BroadcastToDims(boxW, b)

	s := uniform(scope, g, dt, t.Scale[0]*area, t.Scale[1]*area, b, cropTries)
	logR := uniform(scope, g, dt, math.Log(t.Ratio[0]), math.Log(t.Ratio[1]), b, cropTries)
	r := graph.Exp(logR)
	candW := graph.Sqrt(graph.Mul(s, r))
	candH := graph.Sqrt(graph.Div(s, r))
	fits := graph.LogicalAnd(graph.LessOrEqual(candW, graph.Scalar(g, dt, W)), graph.LessOrEqual(candH, graph.Scalar(g, dt, H)))
	// Walk the tries backwards so the first fitting try wins.
	for k := cropTries - 1; k >= 0; k-- {
		fk := graph.Reshape(graph.Slice(fits, graph.AxisRange(), graph.AxisElem(k)), b)
		boxH = graph.Where(fk, graph.Reshape(graph.Slice(candH, graph.AxisRange(), graph.AxisElem(k)), b), boxH)
		boxW = graph.Where(fk, graph.Reshape(graph.Slice(candW, graph.AxisRange(), graph.AxisElem(k)), b), boxW)
	}
	off := scope.RandomUniform(g, shapes.Make(dt, b, 2))
	y0 := graph.Mul(graph.Reshape(graph.Slice(off, graph.AxisRange(), graph.AxisElem(0)), b), graph.Sub(graph.Scalar(g, dt, H), boxH))
	x0 := graph.Mul(graph.Reshape(graph.Slice(off, graph.AxisRange(), graph.AxisElem(1)), b), graph.Sub(graph.Scalar(g, dt, W), boxW))
	return graph.Stack([]*Node{y0, x0, boxH, boxW}, 1)
}

// CropResize crops boxes [B, 4] = (y0, x0, height, width), in pixels of the input (may be
// fractional), out of images [B, H, W, C] and resizes each to outH × outW.
//
// It is separable: out[b] = Ry[b] · img[b] · Rx[b]ᵀ, with per-sample interpolation matrices
// from ResizeMatrix, computed as two batched matrix products.
func CropResize(images, boxes *Node, outH, outW int) *Node {
	b, h, w, _ := checkImages("CropResize", images)
	if !boxes.Shape().Equal(shapes.Make(images.DType(), b, 4)) {
		exceptions.Panicf("augment.CropResize: boxes must be %s [%d, 4], got %s", images.DType(), b, boxes.Shape())
	}
	col := func(i int) *Node { return graph.Reshape(graph.Slice(boxes, graph.AxisRange(), graph.AxisElem(i)), b) }
	ry := ResizeMatrix(col(0), col(2), h, outH) // [B, outH, H]
	rx := ResizeMatrix(col(1), col(3), w, outW) // [B, outW, W]
	tmp := graph.Einsum("boh,bhwc->bowc", ry, images)
	return graph.Einsum("bpw,bowc->bopc", rx, tmp)
}

// ResizeMatrix returns the per-sample 1-D interpolation matrices [B, outSize, inSize] that
// resample the segment [start, start+length) (per sample, [B] each, in input pixels) of an
// axis of inSize pixels to outSize pixels.
//
// With pixel centers at integer+0.5, output pixel i samples at c_i = start + (i+0.5)·length/outSize
// and weights input pixel j by the triangle filter
//
//	w_ij = max(0, 1 − |j + 0.5 − c_i| / a),  a = max(1, length/outSize),
//
// normalized so each row sums to 1. For a ≤ 1 this is bilinear interpolation with edge
// replication (align_corners=False); for a > 1 it is the antialiased (PIL-style) bilinear
// filter. start=0, length=inSize=outSize gives the identity.
func ResizeMatrix(start, length *Node, inSize, outSize int) *Node {
	g := start.Graph()
	dt := start.DType()
	b := start.Shape().Dimensions[0]
	step := graph.DivScalar(length, float64(outSize))                                         // [B]
	i := graph.AddScalar(graph.Iota(g, shapes.Make(dt, 1, outSize, 1), 1), 0.5)               // [1, out, 1]
	j := graph.AddScalar(graph.Iota(g, shapes.Make(dt, 1, 1, inSize), 2), 0.5)                // [1, 1, in]
	c := graph.Add(graph.Reshape(start, b, 1, 1), graph.Mul(i, graph.Reshape(step, b, 1, 1))) // [B, out, 1]
	a := graph.Reshape(graph.MaxScalar(step, 1), b, 1, 1)                                     // [B, 1, 1]
	wts := graph.MaxScalar(graph.OneMinus(graph.Div(graph.Abs(graph.Sub(j, c)), a)), 0)       // [B, out, in]
	sum := graph.ReduceAndKeep(wts, graph.ReduceSum, -1)
	return graph.Div(wts, graph.MaxScalar(sum, 1e-12))
}
