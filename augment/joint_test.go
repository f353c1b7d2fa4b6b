package augment_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/internal/testdata"
)

// realSlices returns n 48×48 axial slices of the first fixture case with the most
// foreground, as host arrays: grey levels in [0, 1] and masks (classes 0, 1, 2).
func realSlices(t *testing.T, n int) (img []float32, mask []int32) {
	t.Helper()
	s, err := seg.LoadNIfTI(testdata.Path(t, "hippocampus"))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := s.Slices(seg.DefaultSliceConfig(48, 48))
	if err != nil {
		t.Fatal(err)
	}
	st := sl.Stacks[0]
	first := st.First + st.Count/2 - n/2
	for i := first; i < first+n; i++ {
		for k, v := range sl.Image(i) {
			img = append(img, float32(v)/255)
			mask = append(mask, int32(sl.Mask(i)[k]))
		}
	}
	return img, mask
}

// withCoordinates makes the 4-channel batch [image, row index, column index, 1]: a
// geometric transform's interpolation of the linear ramps gives back, at every output
// pixel, the fractional input position it read, and the ones channel says whether all of
// the pixels it read lay inside the image (1) or none did (0).
func withCoordinates(img []float32, b, h, w int) *tensors.Tensor {
	out := make([]float32, 0, b*h*w*4)
	for bi := range b {
		for y := range h {
			for x := range w {
				out = append(out, img[(bi*h+y)*w+x], float32(y), float32(x), 1)
			}
		}
	}
	return tensors.FromFlatDataAndDimensions(out, b, h, w, 4)
}

// applyJoint runs t once with a fresh store seeded with seed.
func applyJoint(t *testing.T, seed int64, tr augment.JointTransform, images, masks *tensors.Tensor) ([]float32, []int32) {
	t.Helper()
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(seed); err != nil {
		t.Fatal(err)
	}
	outs, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
		i, m := tr.ApplyJoint(scope, in[0], in[1])
		return []*graph.Node{i, m}
	}, images, masks)
	if err != nil {
		t.Fatal(err)
	}
	if outs[1].Shape().DType != masks.Shape().DType || !outs[1].Shape().Equal(masks.Shape()) {
		t.Fatalf("masks came back as %s, went in as %s", outs[1].Shape(), masks.Shape())
	}
	return tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[int32](outs[1])
}

// bilinear reads a row-major h×w image at (y, x), inside [0, h−1]×[0, w−1].
func bilinear(img []float32, h, w int, y, x float64) float64 {
	y0, x0 := int(math.Floor(y)), int(math.Floor(x))
	fy, fx := y-float64(y0), x-float64(x0)
	at := func(i, j int) float64 { return float64(img[min(i, h-1)*w+min(j, w-1)]) }
	return (1-fy)*(1-fx)*at(y0, x0) + (1-fy)*fx*at(y0, x0+1) + fy*(1-fx)*at(y0+1, x0) + fy*fx*at(y0+1, x0+1)
}

// nearest returns the pixel indices nearest to a coordinate, ⌊v+½⌋, and its neighbour
// when v+½ is within 1e-3 of a whole number (the ramps carry float32 rounding).
func nearest(v float64) []int {
	r := math.Floor(v + 0.5)
	frac := v + 0.5 - r
	switch {
	case frac < 1e-3:
		return []int{int(r), int(r) - 1}
	case frac > 1-1e-3:
		return []int{int(r), int(r) + 1}
	}
	return []int{int(r)}
}

// TestJointTransformsKeepImageAndMaskAligned checks every joint transform pixel by pixel on
// real MRI slices and their labels: wherever the output image pixel read only pixels
// inside the input, at fractional position (y, x) (recovered from the coordinate
// channels), the image is the bilinear interpolation of the input there and the mask is
// the input mask's pixel nearest to (y, x); wherever it read only outside, the mask is
// background. Each transform must move at least some pixels.
func TestJointTransformsKeepImageAndMaskAligned(t *testing.T) {
	const b, h, w = 6, 48, 48
	img, mask := realSlices(t, b)
	// Pipelines with one interpolating stage each (two in a row interpolate twice, which no
	// single reading reproduces), plus the exact flips and 90° rotations; intensity would
	// change the coordinate channels.
	rotating := augment.SegmentationDefault()
	rotating.Intensity, rotating.CropP = nil, 0
	rotating.HorizontalFlipP, rotating.VerticalFlipP, rotating.Rotate90, rotating.RotationP = 0.5, 0.5, true, 0.8
	cropping := rotating
	cropping.RotationP, cropping.CropP = 0, 0.8
	for _, tc := range []struct {
		name string
		tr   augment.JointTransform
	}{
		{"rotation", augment.JointRotation{Degrees: 30}},
		{"crop", augment.JointCrop{Scale: [2]float64{0.3, 1}, Ratio: [2]float64{0.5, 2}}},
		{"vertical flip", augment.JointFlip{Axis: 1, P: 0.5}},
		{"horizontal flip", augment.JointFlip{Axis: 2, P: 0.5}},
		{"rotate90", augment.JointRot90{}},
		{"random apply", augment.JointRandomApply(0.5, augment.JointRotation{Degrees: 20})},
		{"pipeline with rotation", rotating},
		{"pipeline with crop", cropping},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outI, outM := applyJoint(t, 11, tc.tr, withCoordinates(img, b, h, w), tensors.FromFlatDataAndDimensions(mask, b, h, w))
			inside, outside, moved := 0, 0, 0
			for bi := range b {
				src := img[bi*h*w : (bi+1)*h*w]
				for y := range h {
					for x := range w {
						p := (bi*h+y)*w + x
						v, sy, sx, ones := float64(outI[4*p]), float64(outI[4*p+1]), float64(outI[4*p+2]), float64(outI[4*p+3])
						got := outM[p]
						switch {
						case ones > 1-1e-4:
							inside++
							if math.Abs(sy-float64(y)) > 1e-3 || math.Abs(sx-float64(x)) > 1e-3 {
								moved++
							}
							if want := bilinear(src, h, w, sy, sx); math.Abs(v-want) > 1e-4 {
								t.Fatalf("sample %d pixel (%d, %d) reads (%.3f, %.3f): image %v, bilinear %v", bi, y, x, sy, sx, v, want)
							}
							ok := false
							for _, ny := range nearest(sy) {
								for _, nx := range nearest(sx) {
									if ny >= 0 && ny < h && nx >= 0 && nx < w {
										ok = ok || mask[(bi*h+ny)*w+nx] == got
									}
								}
							}
							if !ok {
								t.Fatalf("sample %d pixel (%d, %d) reads (%.3f, %.3f): mask %d, the nearest input pixel holds %d",
									bi, y, x, sy, sx, got, mask[(bi*h+int(math.Floor(sy+0.5)))*w+int(math.Floor(sx+0.5))])
							}
						case ones < 1e-4:
							outside++
							if got != 0 {
								t.Fatalf("sample %d pixel (%d, %d) read outside the image: mask %d, want background", bi, y, x, got)
							}
						}
					}
				}
			}
			t.Logf("%s: %d pixels checked inside, %d outside, %d moved", tc.name, inside, outside, moved)
			if inside < b*h*w/2 || moved == 0 {
				t.Errorf("%s: %d pixels checked inside, %d moved: the check saw too little", tc.name, inside, moved)
			}
		})
	}
}

// TestIntensityTouchesImagesOnly: the default pipeline's intensity stage changes images
// and leaves masks exactly as they were; the whole default pipeline keeps masks valid
// classes.
func TestIntensityTouchesImagesOnly(t *testing.T) {
	const b, h, w = 6, 48, 48
	img, mask := realSlices(t, b)
	images := tensors.FromFlatDataAndDimensions(img, b, h, w, 1)
	masks := tensors.FromFlatDataAndDimensions(mask, b, h, w)
	outI, outM := applyJoint(t, 3, augment.ImageOnly{T: augment.SegmentationDefault().Intensity}, images, masks)
	changed := 0
	for i := range img {
		if outM[i] != mask[i] {
			t.Fatalf("intensity changed mask pixel %d: %d -> %d", i, mask[i], outM[i])
		}
		if outI[i] != img[i] {
			changed++
		}
	}
	if changed == 0 {
		t.Error("intensity stage changed no pixel")
	}
	_, outM = applyJoint(t, 5, augment.SegmentationDefault(), images, masks)
	for i, v := range outM {
		if v < 0 || v > 2 {
			t.Fatalf("default pipeline: mask pixel %d = %d, not a class", i, v)
		}
	}
}
