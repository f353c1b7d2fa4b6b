package augment

import (
	"math"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// JointTransform is a random augmentation of images and their segmentation masks
// together, for dense prediction: geometric transforms move image and mask alike (the
// same random parameters per sample), reading the mask by nearest neighbour so that its
// values stay classes; intensity transforms touch the image only.
//
// Images are float [B, H, W, C] in [0, 1]; masks are [B, H, W] class indices of any
// numeric dtype (int32 from data/seg batches) and come back with the same shape and
// dtype. Where a transform reads outside the image (a rotation's corners) the mask gets
// class 0, background.
//
// Nearest neighbour follows the image's sampling: where the image is interpolated at the
// fractional position (y, x), the mask takes the pixel (⌊y+½⌋, ⌊x+½⌋) nearest to it, so
// each mask pixel is the class of the input pixel that weighs most in the image pixel.
type JointTransform interface {
	ApplyJoint(scope *model.Scope, images, masks *Node) (outImages, outMasks *Node)
}

// maskChannels turns masks [B, H, W] into float [B, H, W, 1] like images (class values up
// to 2²⁴ are exact in float32), and back.
func maskChannels(images, masks *Node) *Node {
	b, h, w, _ := checkImages("JointTransform", images)
	if masks.Rank() != 3 || masks.Shape().Dimensions[0] != b || masks.Shape().Dimensions[1] != h || masks.Shape().Dimensions[2] != w {
		exceptions.Panicf("augment: masks must be [%d, %d, %d] for images %s, got %s", b, h, w, images.Shape(), masks.Shape())
	}
	return graph.InsertAxes(graph.ConvertDType(masks, images.DType()), -1)
}

func maskBack(m, like *Node) *Node {
	return graph.ConvertDType(graph.Squeeze(m, -1), like.DType())
}

// JointFunc adapts a plain function to a JointTransform.
type JointFunc func(scope *model.Scope, images, masks *Node) (*Node, *Node)

// ApplyJoint implements JointTransform.
func (f JointFunc) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	return f(scope, images, masks)
}

// JointCompose applies the transforms in order; nil ones are skipped.
func JointCompose(ts ...JointTransform) JointTransform {
	return JointFunc(func(scope *model.Scope, images, masks *Node) (*Node, *Node) {
		for _, t := range ts {
			if t != nil {
				images, masks = t.ApplyJoint(scope, images, masks)
			}
		}
		return images, masks
	})
}

// JointRandomApply applies t to each sample (image and mask together) with probability p,
// drawn per sample; p <= 0 and p >= 1 draw no coin. t must keep the shapes.
func JointRandomApply(p float64, t JointTransform) JointTransform {
	return JointFunc(func(scope *model.Scope, images, masks *Node) (*Node, *Node) {
		switch {
		case p <= 0 || t == nil:
			return images, masks
		case p >= 1:
			return t.ApplyJoint(scope, images, masks)
		}
		on := coin(scope, images, p)
		outI, outM := t.ApplyJoint(scope, images, masks)
		return graph.Where(on, outI, images), graph.Where(on, outM, masks)
	})
}

// ImageOnly applies an image transform (intensity: brightness, contrast, gamma, blur,
// noise) to the images and leaves the masks as they are. A geometric transform here would
// misalign them: use the Joint ones.
type ImageOnly struct{ T Transform }

// ApplyJoint implements JointTransform.
func (t ImageOnly) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	if t.T == nil {
		return images, masks
	}
	return t.T.Apply(scope, images), masks
}

// JointFlip mirrors image and mask with probability P per sample along Axis: 1 top-bottom
// (vertical), 2 left-right (horizontal).
type JointFlip struct {
	Axis int
	P    float64
}

// ApplyJoint implements JointTransform.
func (t JointFlip) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	m := maskChannels(images, masks)
	if t.Axis != 1 && t.Axis != 2 {
		exceptions.Panicf("augment.JointFlip: Axis must be 1 (vertical) or 2 (horizontal), got %d", t.Axis)
	}
	if t.P <= 0 {
		return images, masks
	}
	on := coin(scope, images, t.P)
	return FlipWhere(images, on, t.Axis), maskBack(FlipWhere(m, on, t.Axis), masks)
}

// JointRot90 rotates (square) image and mask by the same random multiple of 90° per
// sample, k ~ U{0, 1, 2, 3} (see Rot90).
type JointRot90 struct{}

// ApplyJoint implements JointTransform.
func (JointRot90) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	m := maskChannels(images, masks)
	b := images.Shape().Dimensions[0]
	k := scope.RandomIntN(images.Graph(), int32(4), shapesInt32(b))
	return Rot90(images, k), maskBack(Rot90(m, k), masks)
}

// JointRotation rotates image and mask about their centre by an angle drawn uniformly from
// [−Degrees, +Degrees] per sample (as RandomRotation): the image bilinearly with Fill
// outside, the mask by nearest neighbour (RotateNearest) with background outside.
type JointRotation struct {
	Degrees float64
	Fill    float64
}

// ApplyJoint implements JointTransform.
func (t JointRotation) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	m := maskChannels(images, masks)
	if t.Degrees == 0 {
		return images, masks
	}
	b := images.Shape().Dimensions[0]
	rad := t.Degrees * math.Pi / 180
	angles := uniform(scope, images.Graph(), images.DType(), -rad, rad, b)
	return Rotate(images, angles, t.Fill), maskBack(RotateNearest(m, angles, 0), masks)
}

// RotateNearest is Rotate with nearest-neighbour sampling: output pixel (i, j) takes the
// input pixel nearest to the position Rotate reads, (⌊y+½⌋, ⌊x+½⌋), or fill when that
// pixel lies outside the image. Values are copied, never mixed: for masks.
func RotateNearest(images, angles *Node, fill float64) *Node {
	b, h, w, c := checkImages("RotateNearest", images)
	g := images.Graph()
	dt := images.DType()
	sy, sx := rotationSources(images, angles)
	yi := graph.Floor(graph.AddScalar(sy, 0.5))
	xi := graph.Floor(graph.AddScalar(sx, 0.5))
	inside := graph.LogicalAnd(
		graph.LogicalAnd(graph.GreaterOrEqual(yi, graph.ScalarZero(g, dt)), graph.LessOrEqual(yi, graph.Scalar(g, dt, h-1))),
		graph.LogicalAnd(graph.GreaterOrEqual(xi, graph.ScalarZero(g, dt)), graph.LessOrEqual(xi, graph.Scalar(g, dt, w-1))))
	yc := graph.ConvertDType(graph.ClipScalar(yi, 0, float64(h-1)), dtypesInt32)
	xc := graph.ConvertDType(graph.ClipScalar(xi, 0, float64(w-1)), dtypesInt32)
	bi := graph.Iota(g, shapesInt32(b, 1, 1), 0)
	flat := graph.Add(graph.Mul(graph.Add(graph.MulScalar(bi, h), yc), graph.Scalar(g, dtypesInt32, w)), xc) // [B, H, W]
	vals := graph.Gather(graph.Reshape(images, b*h*w, c), graph.InsertAxes(flat, -1))                        // [B, H, W, C]
	return graph.Where(graph.InsertAxes(inside, -1), vals, graph.Scalar(g, dt, fill))
}

// JointCrop crops a random box of image and mask (sampled as RandomResizedCrop samples it:
// area fraction in Scale, aspect ratio in Ratio) and resizes it back to the input size:
// the image bilinearly (CropResize), the mask by nearest neighbour (CropResizeNearest).
type JointCrop struct {
	Scale, Ratio [2]float64
}

// ApplyJoint implements JointTransform.
func (t JointCrop) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	m := maskChannels(images, masks)
	_, h, w, _ := checkImages("JointCrop", images)
	rrc := RandomResizedCrop{Scale: t.Scale, Ratio: t.Ratio}
	if t.Scale[0] <= 0 || t.Scale[1] < t.Scale[0] || t.Ratio[0] <= 0 || t.Ratio[1] < t.Ratio[0] {
		exceptions.Panicf("augment.JointCrop: invalid Scale %v or Ratio %v", t.Scale, t.Ratio)
	}
	boxes := rrc.SampleBoxes(scope, images)
	return CropResize(images, boxes, h, w), maskBack(CropResizeNearest(m, boxes, h, w), masks)
}

// CropResizeNearest is CropResize with nearest-neighbour sampling: output pixel i along an
// axis takes input pixel ⌊c_i⌋ (clamped to the image), c_i = start + (i+½)·length/out the
// position CropResize samples at (in pixel-edge coordinates, so pixel ⌊c_i⌋ is the one
// under it). Values are copied, never mixed: for masks.
func CropResizeNearest(images, boxes *Node, outH, outW int) *Node {
	b, h, w, _ := checkImages("CropResizeNearest", images)
	if !boxes.Shape().Equal(shapes.Make(images.DType(), b, 4)) {
		exceptions.Panicf("augment.CropResizeNearest: boxes must be %s [%d, 4], got %s", images.DType(), b, boxes.Shape())
	}
	col := func(i int) *Node { return graph.Reshape(graph.Slice(boxes, graph.AxisRange(), graph.AxisElem(i)), b) }
	ry := nearestMatrix(col(0), col(2), h, outH) // [B, outH, H]
	rx := nearestMatrix(col(1), col(3), w, outW) // [B, outW, W]
	tmp := graph.Einsum("boh,bhwc->bowc", ry, images)
	return graph.Einsum("bpw,bowc->bopc", rx, tmp)
}

// nearestMatrix is the one-hot [B, outSize, inSize] matrix picking, for output pixel i,
// input pixel clamp(⌊start + (i+½)·length/outSize⌋, 0, inSize−1).
func nearestMatrix(start, length *Node, inSize, outSize int) *Node {
	g := start.Graph()
	dt := start.DType()
	b := start.Shape().Dimensions[0]
	i := graph.AddScalar(graph.Iota(g, shapes.Make(dt, 1, outSize), 1), 0.5)                                                 // [1, out]
	c := graph.Add(graph.Reshape(start, b, 1), graph.Mul(i, graph.Reshape(graph.DivScalar(length, float64(outSize)), b, 1))) // [B, out]
	idx := graph.ConvertDType(graph.ClipScalar(graph.Floor(c), 0, float64(inSize-1)), dtypesInt32)
	return graph.OneHot(idx, inSize, dt)
}

// JointPipeline is the segmentation counterpart of Pipeline: geometric stages that move
// image and mask together, each with its probability per sample (a stage of probability 0
// is left out), then Intensity on the images only. Stages run in this order: Rotation,
// Crop, flips, Rotate90, Intensity. Start from SegmentationDefault and change fields.
type JointPipeline struct {
	RotationP float64
	Rotation  JointRotation

	CropP float64
	Crop  JointCrop

	// HorizontalFlipP and VerticalFlipP are the flip probabilities. Flips swap anatomical
	// directions: where a label is defined by position (anterior against posterior
	// hippocampus, left against right organs), a flip makes the labels contradict the
	// anatomy; leave them at 0 there.
	HorizontalFlipP, VerticalFlipP float64
	// Rotate90 rotates square images by a random multiple of 90° (same caution).
	Rotate90 bool

	// Intensity transforms the images only; a Pipeline with only intensity stages (Jitter,
	// Blur, Noise) fits, since it ends with clipping to [0, 1].
	Intensity Transform
}

// SegmentationDefault is a mild pipeline for MRI and CT slices, in the spirit of nnU-Net's
// (rotation, scaling, brightness, contrast, gamma, noise) with smaller ranges for 2D
// slices: rotation ±15° (p 0.5), a crop of 70–100% of the area rescaled to the full size
// (zoom up to about 1.2×, p 0.5), no flips or 90° rotations (see JointPipeline), and on the
// images brightness and contrast factors in (0.8, 1.2) with gamma in (0.7, 1.5) (p 0.5)
// and Gaussian noise σ 0.03 (p 0.2).
func SegmentationDefault() JointPipeline {
	return JointPipeline{
		RotationP: 0.5,
		Rotation:  JointRotation{Degrees: 15},
		CropP:     0.5,
		Crop:      JointCrop{Scale: [2]float64{0.7, 1}, Ratio: [2]float64{3.0 / 4.0, 4.0 / 3.0}},
		Intensity: Pipeline{
			JitterP: 0.5,
			Jitter: ColorJitter{
				Brightness: Brightness{Factor: [2]float64{0.8, 1.2}},
				Contrast:   Contrast{Factor: [2]float64{0.8, 1.2}},
				Gamma:      Gamma{Range: [2]float64{0.7, 1.5}},
			},
			NoiseP: 0.2,
			Noise:  GaussianNoise{Sigma: 0.03},
		},
	}
}

// Transforms returns the pipeline's stages in order, leaving out those of probability 0.
func (p JointPipeline) Transforms() []JointTransform {
	var ts []JointTransform
	if p.RotationP > 0 {
		ts = append(ts, JointRandomApply(p.RotationP, p.Rotation))
	}
	if p.CropP > 0 {
		ts = append(ts, JointRandomApply(p.CropP, p.Crop))
	}
	if p.HorizontalFlipP > 0 {
		ts = append(ts, JointFlip{Axis: 2, P: p.HorizontalFlipP})
	}
	if p.VerticalFlipP > 0 {
		ts = append(ts, JointFlip{Axis: 1, P: p.VerticalFlipP})
	}
	if p.Rotate90 {
		ts = append(ts, JointRot90{})
	}
	if p.Intensity != nil {
		ts = append(ts, ImageOnly{T: p.Intensity})
	}
	return ts
}

// ApplyJoint implements JointTransform.
func (p JointPipeline) ApplyJoint(scope *model.Scope, images, masks *Node) (*Node, *Node) {
	return JointCompose(p.Transforms()...).ApplyJoint(scope, images, masks)
}
