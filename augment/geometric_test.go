package augment_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl/augment"
)

// naiveFlip returns x with sample b mirrored along axis 1 (vertical) or 2 (horizontal).
func naiveFlip(x batch, b, axis int) []float32 {
	out := make([]float32, 0, x.H*x.W*x.C)
	for i := 0; i < x.H; i++ {
		for j := 0; j < x.W; j++ {
			for c := 0; c < x.C; c++ {
				si, sj := i, j
				if axis == 1 {
					si = x.H - 1 - i
				} else {
					sj = x.W - 1 - j
				}
				out = append(out, x.at(b, si, sj, c))
			}
		}
	}
	return out
}

// naiveRot90 rotates sample b counterclockwise k times, as numpy.rot90:
// one step is out[i][j] = in[j][W-1-i].
func naiveRot90(x batch, b, k int) []float32 {
	n := x.H
	cur := append([]float32(nil), x.sample(b)...)
	for range k {
		next := make([]float32, len(cur))
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for c := 0; c < x.C; c++ {
					next[(i*n+j)*x.C+c] = cur[(j*n+(n-1-i))*x.C+c]
				}
			}
		}
		cur = next
	}
	return cur
}

// naiveCropBilinear resamples the box (y0, x0, h, w) of sample b to outH x outW with
// classic clamped bilinear interpolation (align_corners=False), valid when the box is not
// larger than the output (no antialiasing).
func naiveCropBilinear(x batch, b int, y0, x0, h, w float64, outH, outW int) []float32 {
	coord := func(start, length float64, i, out, in int) (lo, hi int, f float64) {
		s := start + (float64(i)+0.5)*length/float64(out) - 0.5
		s = math.Max(0, math.Min(s, float64(in-1)))
		lo = int(math.Floor(s))
		hi = min(lo+1, in-1)
		return lo, hi, s - float64(lo)
	}
	out := make([]float32, 0, outH*outW*x.C)
	for i := 0; i < outH; i++ {
		ylo, yhi, fy := coord(y0, h, i, outH, x.H)
		for j := 0; j < outW; j++ {
			xlo, xhi, fx := coord(x0, w, j, outW, x.W)
			for c := 0; c < x.C; c++ {
				v := (1-fy)*(1-fx)*float64(x.at(b, ylo, xlo, c)) + (1-fy)*fx*float64(x.at(b, ylo, xhi, c)) +
					fy*(1-fx)*float64(x.at(b, yhi, xlo, c)) + fy*fx*float64(x.at(b, yhi, xhi, c))
				out = append(out, float32(v))
			}
		}
	}
	return out
}

// naiveRotate rotates sample b counterclockwise by theta about the center with bilinear
// sampling; neighbors outside the image read fill.
func naiveRotate(x batch, b int, theta, fill float64) []float32 {
	cy, cx := float64(x.H-1)/2, float64(x.W-1)/2
	out := make([]float32, 0, x.H*x.W*x.C)
	for i := 0; i < x.H; i++ {
		for j := 0; j < x.W; j++ {
			dy, dx := float64(i)-cy, float64(j)-cx
			sx := cx + dx*math.Cos(theta) - dy*math.Sin(theta)
			sy := cy + dx*math.Sin(theta) + dy*math.Cos(theta)
			y0, x0 := math.Floor(sy), math.Floor(sx)
			for c := 0; c < x.C; c++ {
				v := 0.0
				for _, n := range [][2]float64{{y0, x0}, {y0, x0 + 1}, {y0 + 1, x0}, {y0 + 1, x0 + 1}} {
					wgt := (1 - math.Abs(sy-n[0])) * (1 - math.Abs(sx-n[1]))
					if n[0] >= 0 && n[0] < float64(x.H) && n[1] >= 0 && n[1] < float64(x.W) {
						v += wgt * float64(x.at(b, int(n[0]), int(n[1]), c))
					} else {
						v += wgt * fill
					}
				}
				out = append(out, float32(v))
			}
		}
	}
	return out
}

func TestFlips(t *testing.T) {
	x := loadBreast(t, 16)
	for _, axis := range []int{1, 2} {
		var tr augment.Transform = augment.HorizontalFlip{P: 1}
		if axis == 1 {
			tr = augment.VerticalFlip{P: 1}
		}
		got := apply(t, 1, x, tr)
		for b := 0; b < x.B; b++ {
			if d := maxAbsDiff(t, got.sample(b), naiveFlip(x, b, axis)); d != 0 {
				t.Fatalf("axis %d sample %d: flip differs from naive reversal by %g", axis, b, d)
			}
		}
	}
	// P = 0.5: every sample is either unchanged or flipped, and both happen.
	got := apply(t, 2, x, augment.HorizontalFlip{P: 0.5})
	flipped, kept := 0, 0
	for b := 0; b < x.B; b++ {
		switch {
		case maxAbsDiff(t, got.sample(b), x.sample(b)) == 0:
			kept++
		case maxAbsDiff(t, got.sample(b), naiveFlip(x, b, 2)) == 0:
			flipped++
		default:
			t.Fatalf("sample %d is neither the input nor its mirror", b)
		}
	}
	if flipped == 0 || kept == 0 {
		t.Fatalf("HorizontalFlip{P: 0.5} on 16 samples: %d flipped, %d kept; want both > 0", flipped, kept)
	}
}

func TestRot90(t *testing.T) {
	x := loadBreast(t, 8)
	// Fixed k per sample against numpy.rot90 semantics.
	ks := []int32{0, 1, 2, 3, 3, 2, 1, 0}
	got := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{augment.Rot90(in[0], in[1])}
	}, x.tensor(), tensors.FromValue(ks))[0]
	gb := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: got}
	for b, k := range ks {
		if d := maxAbsDiff(t, gb.sample(b), naiveRot90(x, b, int(k))); d != 0 {
			t.Fatalf("sample %d k=%d: differs from naive rotation by %g", b, k, d)
		}
	}
	// Random transform: each output is one of the four rotations, and all four occur.
	x = loadBreast(t, 16)
	r := apply(t, 3, x, augment.Rotate90{})
	seen := map[int]int{}
	for b := 0; b < x.B; b++ {
		found := -1
		for k := 0; k < 4; k++ {
			if maxAbsDiff(t, r.sample(b), naiveRot90(x, b, k)) == 0 {
				found = k
				break
			}
		}
		if found < 0 {
			t.Fatalf("sample %d is not a multiple-of-90° rotation of its input", b)
		}
		seen[found]++
	}
	if len(seen) != 4 {
		t.Fatalf("Rotate90 over 16 samples produced rotations %v; want all of 0..3", seen)
	}
}

func TestRotate(t *testing.T) {
	x := loadBreast(t, 4)
	angles := []float32{0, math.Pi / 2, 0.2, -0.26}
	got := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{augment.Rotate(in[0], in[1], 0)}
	}, x.tensor(), tensors.FromValue(angles))[0]
	gb := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: got}
	// Angle 0 is the identity; +90° matches numpy.rot90 (checks the direction convention).
	if d := maxAbsDiff(t, gb.sample(0), x.sample(0)); d > 1e-6 {
		t.Errorf("angle 0: differs from input by %g", d)
	}
	if d := maxAbsDiff(t, gb.sample(1), naiveRot90(x, 1, 1)); d > 1e-5 {
		t.Errorf("angle 90°: differs from rot90 by %g", d)
	}
	for b := 2; b < 4; b++ {
		if d := maxAbsDiff(t, gb.sample(b), naiveRotate(x, b, float64(angles[b]), 0)); d > 1e-5 {
			t.Errorf("angle %g: differs from naive bilinear rotation by %g", angles[b], d)
		}
	}
	// A non-zero fill.
	gotFill := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{augment.Rotate(in[0], in[1], 0.8)}
	}, x.tensor(), tensors.FromValue(angles))[0]
	gf := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: gotFill}
	for b := 1; b < 4; b++ {
		if d := maxAbsDiff(t, gf.sample(b), naiveRotate(x, b, float64(angles[b]), 0.8)); d > 1e-5 {
			t.Errorf("angle %g fill 0.8: differs from naive bilinear rotation by %g", angles[b], d)
		}
	}
	// Degrees 0 leaves the images untouched; range checks on a random rotation.
	if d := maxAbsDiff(t, apply(t, 1, x, augment.RandomRotation{}).Data, x.Data); d != 0 {
		t.Errorf("RandomRotation{Degrees: 0} changed the images by %g", d)
	}
}

func TestCropResizeKnownBox(t *testing.T) {
	x := loadBreast(t, 3)
	// Boxes (y0, x0, h, w), none larger than the output (no antialiasing), including the identity box.
	boxes := [][]float32{{0, 0, 28, 28}, {3.25, 5.5, 14.3, 17.9}, {10, 0.75, 18, 12.5}}
	for _, out := range [][2]int{{28, 28}, {32, 30}} {
		got := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
			return []*graph.Node{augment.CropResize(in[0], in[1], out[0], out[1])}
		}, x.tensor(), tensors.FromValue(boxes))[0]
		gb := batch{B: x.B, H: out[0], W: out[1], C: 1, Data: got}
		for b, bx := range boxes {
			want := naiveCropBilinear(x, b, float64(bx[0]), float64(bx[1]), float64(bx[2]), float64(bx[3]), out[0], out[1])
			if d := maxAbsDiff(t, gb.sample(b), want); d > 1e-5 {
				t.Errorf("out %v box %v: differs from naive bilinear by %g", out, bx, d)
			}
		}
	}
	// Downsampling 28 -> 14 (factor 2): the antialiased triangle filter has taps
	// (1, 3, 3, 1)/8 at rows 2i-1..2i+2, renormalized where a tap falls outside.
	got := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{augment.CropResize(in[0], in[1], 14, 14)}
	}, x.tensor(), tensors.FromValue([][]float32{{0, 0, 28, 28}, {0, 0, 28, 28}, {0, 0, 28, 28}}))[0]
	taps := func(i int) (idx []int, wts []float64) {
		sum := 0.0
		for k, w := range []float64{1, 3, 3, 1} {
			p := 2*i - 1 + k
			if p >= 0 && p < 28 {
				idx = append(idx, p)
				wts = append(wts, w)
				sum += w
			}
		}
		for k := range wts {
			wts[k] /= sum
		}
		return
	}
	for b := 0; b < 3; b++ {
		for i := 0; i < 14; i++ {
			yi, yw := taps(i)
			for j := 0; j < 14; j++ {
				xi, xw := taps(j)
				want := 0.0
				for a := range yi {
					for c := range xi {
						want += yw[a] * xw[c] * float64(x.at(b, yi[a], xi[c], 0))
					}
				}
				if d := math.Abs(want - float64(got[(b*14+i)*14+j])); d > 1e-5 {
					t.Fatalf("downsample sample %d (%d,%d): got %g want %g", b, i, j, got[(b*14+i)*14+j], want)
				}
			}
		}
	}
}

func TestRandomResizedCrop(t *testing.T) {
	x := loadBreast(t, 8)
	// Scale 1 and ratio 1 on square images: the box is the whole image, output == input.
	id := augment.RandomResizedCrop{Scale: [2]float64{1, 1}, Ratio: [2]float64{1, 1}}
	if d := maxAbsDiff(t, apply(t, 1, x, id).Data, x.Data); d > 1e-6 {
		t.Errorf("identity crop differs from input by %g", d)
	}
	// Sampled boxes: inside the image, area and ratio in range, different per sample.
	x = loadBreast(t, 64)
	crop := augment.RandomResizedCrop{Scale: [2]float64{0.35, 1}, Ratio: [2]float64{3.0 / 4, 4.0 / 3}}
	boxes := run(t, 5, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{crop.SampleBoxes(scope, in[0])}
	}, x.tensor())[0]
	distinct := map[float32]bool{}
	for b := 0; b < x.B; b++ {
		y0, x0, h, w := boxes[4*b], boxes[4*b+1], boxes[4*b+2], boxes[4*b+3]
		const eps = 1e-4
		if y0 < 0 || x0 < 0 || y0+h > 28+eps || x0+w > 28+eps {
			t.Fatalf("box %d = %v outside the 28x28 image", b, boxes[4*b:4*b+4])
		}
		area := float64(h*w) / (28 * 28)
		ratio := float64(w / h)
		if area < 0.35-eps || area > 1+eps || ratio < 0.75-eps || ratio > 4.0/3+eps {
			t.Fatalf("box %d = %v: area fraction %.3f or ratio %.3f out of range", b, boxes[4*b:4*b+4], area, ratio)
		}
		distinct[h] = true
	}
	if len(distinct) < x.B/2 {
		t.Fatalf("only %d distinct box heights over %d samples", len(distinct), x.B)
	}
}
