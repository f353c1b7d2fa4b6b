package augment

import (
	"github.com/gomlx/gomlx/ml/model"
)

// Pipeline is a standard augmentation pipeline whose every stage is a visible field: each
// stage runs per sample with its probability (a stage whose probability is 0 is left out of
// the graph). Stages run in this order:
//
//  1. Rotation (small angles, before the crop so the crop hides part of the filled corners),
//  2. Crop (random resized crop),
//  3. horizontal and vertical flips, Rotate90,
//  4. Jitter (brightness, contrast, gamma, as one group, like SimCLR's RandomApply(ColorJitter)),
//  5. Blur, 6. Noise, then clipping to [0, 1].
//
// Start from SimCLRDefault, MedicalDefault or SupervisedDefault and change fields.
type Pipeline struct {
	RotationP float64
	Rotation  RandomRotation

	CropP float64
	Crop  RandomResizedCrop

	// HorizontalFlipP is the left-right flip probability. Set it to 0 where laterality
	// matters (chest X-ray: situs; mammography/ultrasound with side markers).
	HorizontalFlipP float64
	// VerticalFlipP is the top-bottom flip probability; 0 for most radiographs.
	VerticalFlipP float64
	// Rotate90 rotates by a random multiple of 90° (square images only); for images with no
	// canonical orientation (histology, dermoscopy, microscopy).
	Rotate90 bool

	JitterP float64
	Jitter  ColorJitter

	BlurP float64
	Blur  GaussianBlur

	NoiseP float64
	Noise  GaussianNoise
}

// SimCLRDefault is SimCLR's ImageNet recipe (Chen et al. 2020, Appendix A; lightly's
// SimCLRTransform) reduced to grayscale: random resized crop scale (0.08, 1), ratio
// (3/4, 4/3); horizontal flip 0.5; color jitter with strength 0.8 (brightness and contrast
// factors (0.2, 1.8)) with probability 0.8 (saturation, hue and random grayscale mean
// nothing for one channel); Gaussian blur σ ∈ (0.1, 2) px with probability 0.5. No
// rotation or noise. It is strong for 28 px medical images; see MedicalDefault.
func SimCLRDefault() Pipeline {
	return Pipeline{
		CropP:           1,
		Crop:            NewRandomResizedCrop(),
		HorizontalFlipP: 0.5,
		JitterP:         0.8,
		Jitter:          NewColorJitter(0.8),
		BlurP:           0.5,
		Blur:            NewGaussianBlur(),
	}
}

// MedicalDefault is a contrastive-learning pipeline for grayscale medical images of 28 to
// 224 px (X-ray, ultrasound, CT slices), gentler than SimCLR's because lesions are small and
// intensity carries diagnosis:
//   - crop scale (0.35, 1), ratio (3/4, 4/3): a view keeps at least about a third of the
//     image, so a small lesion is not cropped away in most views (Azizi et al. 2021 and
//     MedMNIST SSL baselines use similar lower bounds);
//   - horizontal flip 0.5: label-preserving for breast ultrasound and most CT/MRI slices,
//     but WRONG for chest X-ray laterality (heart on the left): set HorizontalFlipP = 0
//     there; vertical flip and Rotate90 off (radiographs have a canonical orientation);
//   - rotation ±15° with probability 0.5 (patient positioning varies by a few degrees);
//   - brightness and contrast factors (0.6, 1.4) and gamma (0.7, 1.5), as one group with
//     probability 0.8 (exposure, gain and window differ between machines);
//   - Gaussian blur σ ∈ (0.1, 1.0) px with probability 0.3 (mild at 28 px; raise to
//     (0.1, 2.0) for 128–224 px);
//   - Gaussian noise σ = 0.03 with probability 0.3 (speckle and quantum noise).
func MedicalDefault() Pipeline {
	return Pipeline{
		RotationP:       0.5,
		Rotation:        NewRandomRotation(),
		CropP:           1,
		Crop:            RandomResizedCrop{Scale: [2]float64{0.35, 1}, Ratio: [2]float64{3.0 / 4.0, 4.0 / 3.0}},
		HorizontalFlipP: 0.5,
		JitterP:         0.8,
		Jitter: ColorJitter{
			Brightness: Brightness{Factor: [2]float64{0.6, 1.4}},
			Contrast:   Contrast{Factor: [2]float64{0.6, 1.4}},
			Gamma:      Gamma{Range: [2]float64{0.7, 1.5}},
		},
		BlurP:  0.3,
		Blur:   GaussianBlur{Sigma: [2]float64{0.1, 1.0}},
		NoiseP: 0.3,
		Noise:  GaussianNoise{Sigma: 0.03},
	}
}

// SupervisedDefault is the weaker pipeline for supervised training and fine-tuning: crop
// scale (0.8, 1), horizontal flip 0.5 (again: set it to 0 for chest X-ray), rotation ±10°
// with probability 0.5, brightness and contrast (0.9, 1.1) with probability 0.5; no gamma,
// blur or noise.
func SupervisedDefault() Pipeline {
	return Pipeline{
		RotationP:       0.5,
		Rotation:        RandomRotation{Degrees: 10},
		CropP:           1,
		Crop:            RandomResizedCrop{Scale: [2]float64{0.8, 1}, Ratio: [2]float64{3.0 / 4.0, 4.0 / 3.0}},
		HorizontalFlipP: 0.5,
		JitterP:         0.5,
		Jitter: ColorJitter{
			Brightness: Brightness{Factor: [2]float64{0.9, 1.1}},
			Contrast:   Contrast{Factor: [2]float64{0.9, 1.1}},
		},
	}
}

// Transforms returns the pipeline's stages as a list, in order, leaving out those with
// probability 0.
func (p Pipeline) Transforms() []Transform {
	var ts []Transform
	add := func(prob float64, t Transform) {
		if prob > 0 {
			ts = append(ts, RandomApply(prob, t))
		}
	}
	add(p.RotationP, p.Rotation)
	add(p.CropP, p.Crop)
	if p.HorizontalFlipP > 0 {
		ts = append(ts, HorizontalFlip{P: p.HorizontalFlipP})
	}
	if p.VerticalFlipP > 0 {
		ts = append(ts, VerticalFlip{P: p.VerticalFlipP})
	}
	if p.Rotate90 {
		ts = append(ts, Rotate90{})
	}
	add(p.JitterP, p.Jitter)
	add(p.BlurP, p.Blur)
	add(p.NoiseP, p.Noise)
	return append(ts, Clip{})
}

// Apply implements Transform.
func (p Pipeline) Apply(scope *model.Scope, images *Node) *Node {
	return Compose(p.Transforms()...).Apply(scope, images)
}
