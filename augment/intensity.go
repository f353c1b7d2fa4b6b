package augment

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// Brightness multiplies each image by a factor f ~ U(Factor) per sample and clips to
// [0, 1]: out = clip(f·x), torchvision's adjust_brightness. torchvision's
// ColorJitter(brightness=β) is Factor (1−β, 1+β).
type Brightness struct {
	Factor [2]float64
}

// Apply implements Transform.
func (t Brightness) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("Brightness", images)
	if t.Factor == [2]float64{1, 1} || t.Factor == [2]float64{} {
		return images
	}
	f := uniform(scope, images.Graph(), images.DType(), t.Factor[0], t.Factor[1], b)
	return graph.ClipScalar(graph.Mul(images, perSample(f)), 0, 1)
}

// Contrast scales each image's deviation from its mean by a factor f ~ U(Factor) per
// sample and clips to [0, 1]: out = clip(m + f·(x − m)), m the mean over H, W and C of the
// sample (torchvision's adjust_contrast uses the grayscale mean, the same thing for
// grayscale). ColorJitter(contrast=γ) is Factor (1−γ, 1+γ).
type Contrast struct {
	Factor [2]float64
}

// Apply implements Transform.
func (t Contrast) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("Contrast", images)
	if t.Factor == [2]float64{1, 1} || t.Factor == [2]float64{} {
		return images
	}
	f := perSample(uniform(scope, images.Graph(), images.DType(), t.Factor[0], t.Factor[1], b))
	m := graph.ReduceAndKeep(images, graph.ReduceMean, 1, 2, 3)
	return graph.ClipScalar(graph.Add(m, graph.Mul(f, graph.Sub(images, m))), 0, 1)
}

// Gamma applies a power law out = x^γ with γ ~ U(Range) per sample: γ < 1 brightens dark
// tissue, γ > 1 darkens it, and 0 and 1 stay fixed, so the output stays in [0, 1]. It is the
// usual intensity augmentation for X-ray, CT and ultrasound (e.g. MONAI's
// RandAdjustContrast, whose default is γ ∈ (0.5, 4.5); MedicalDefault uses a milder range).
type Gamma struct {
	Range [2]float64
}

// Apply implements Transform.
func (t Gamma) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("Gamma", images)
	if t.Range == [2]float64{1, 1} || t.Range == [2]float64{} {
		return images
	}
	gamma := perSample(uniform(scope, images.Graph(), images.DType(), t.Range[0], t.Range[1], b))
	return graph.Pow(graph.ClipScalar(images, 0, 1), gamma)
}

// ColorJitter applies Brightness, Contrast and Gamma in that order (each skipped when its
// range is zero or (1, 1)). Grayscale images have no saturation or hue, so SimCLR's
// jitter reduces to these. Unlike torchvision, the order is fixed.
type ColorJitter struct {
	Brightness Brightness
	Contrast   Contrast
	Gamma      Gamma
}

// NewColorJitter returns torchvision-style jitter of strength s for brightness and contrast
// (factors (1−s, 1+s)) and no gamma. SimCLR's strength for ImageNet is s = 0.8.
func NewColorJitter(s float64) ColorJitter {
	return ColorJitter{
		Brightness: Brightness{Factor: [2]float64{max(0, 1-s), 1 + s}},
		Contrast:   Contrast{Factor: [2]float64{max(0, 1-s), 1 + s}},
	}
}

// Apply implements Transform.
func (t ColorJitter) Apply(scope *model.Scope, images *Node) *Node {
	images = t.Brightness.Apply(scope, images)
	images = t.Contrast.Apply(scope, images)
	return t.Gamma.Apply(scope, images)
}

// GaussianNoise adds independent N(0, Sigma²) noise to every pixel and clips to [0, 1].
type GaussianNoise struct {
	Sigma float64 // standard deviation, in intensity units (images are in [0, 1])
}

// Apply implements Transform.
func (t GaussianNoise) Apply(scope *model.Scope, images *Node) *Node {
	checkImages("GaussianNoise", images)
	if t.Sigma == 0 {
		return images
	}
	n := normal(scope, images.Graph(), images.Shape())
	return graph.ClipScalar(graph.Add(images, graph.MulScalar(n, t.Sigma)), 0, 1)
}
