package augment_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl/augment"
)

func clip01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

func TestIntensityFixedFactors(t *testing.T) {
	x := loadBreast(t, 8)
	cases := []struct {
		name string
		tr   augment.Transform
		want func(b int, v, mean float64) float64
	}{
		{"brightness 1.5", augment.Brightness{Factor: [2]float64{1.5, 1.5}}, func(_ int, v, _ float64) float64 { return clip01(1.5 * v) }},
		{"contrast 0.5", augment.Contrast{Factor: [2]float64{0.5, 0.5}}, func(_ int, v, m float64) float64 { return clip01(m + 0.5*(v-m)) }},
		{"contrast 1.7", augment.Contrast{Factor: [2]float64{1.7, 1.7}}, func(_ int, v, m float64) float64 { return clip01(m + 1.7*(v-m)) }},
		{"gamma 2", augment.Gamma{Range: [2]float64{2, 2}}, func(_ int, v, _ float64) float64 { return v * v }},
		{"gamma 0.5", augment.Gamma{Range: [2]float64{0.5, 0.5}}, func(_ int, v, _ float64) float64 { return math.Sqrt(v) }},
	}
	for _, tc := range cases {
		got := apply(t, 1, x, tc.tr)
		for b := 0; b < x.B; b++ {
			mean := 0.0
			for _, v := range x.sample(b) {
				mean += float64(v)
			}
			mean /= float64(len(x.sample(b)))
			for i, v := range x.sample(b) {
				want := tc.want(b, float64(v), mean)
				if d := math.Abs(float64(got.sample(b)[i]) - want); d > 1e-5 {
					t.Fatalf("%s: sample %d pixel %d: got %g want %g", tc.name, b, i, got.sample(b)[i], want)
				}
			}
		}
	}
}

func TestPerSampleParameters(t *testing.T) {
	// 16 copies of one real image: a per-sample brightness factor gives 16 different outputs,
	// each a uniform scaling of the input with its factor in range.
	one := loadBreast(t, 1)
	x := newBatch(16, 28, 28, 1)
	for b := 0; b < 16; b++ {
		copy(x.sample(b), one.sample(0))
	}
	got := apply(t, 7, x, augment.Brightness{Factor: [2]float64{0.5, 0.9}})
	// Pick the brightest pixel of the image (no clipping for factors < 1).
	imax := 0
	for i, v := range one.Data {
		if v > one.Data[imax] {
			imax = i
		}
	}
	factors := map[float32]bool{}
	for b := 0; b < 16; b++ {
		f := got.sample(b)[imax] / one.Data[imax]
		if f < 0.5-1e-6 || f > 0.9+1e-6 {
			t.Fatalf("sample %d: factor %g out of [0.5, 0.9]", b, f)
		}
		for i, v := range one.Data {
			if d := math.Abs(float64(got.sample(b)[i] - f*v)); d > 1e-5 {
				t.Fatalf("sample %d pixel %d: not a uniform scaling (off by %g)", b, i, d)
			}
		}
		factors[f] = true
	}
	if len(factors) != 16 {
		t.Fatalf("16 samples got only %d distinct brightness factors", len(factors))
	}
}

func TestRandomApply(t *testing.T) {
	x := loadBreast(t, 32)
	got := apply(t, 3, x, augment.RandomApply(0.5, augment.Brightness{Factor: [2]float64{0.5, 0.5}}))
	applied, kept := 0, 0
	for b := 0; b < x.B; b++ {
		switch {
		case maxAbsDiff(t, got.sample(b), x.sample(b)) == 0:
			kept++
		default:
			for i, v := range x.sample(b) {
				if d := math.Abs(float64(got.sample(b)[i] - 0.5*v)); d > 1e-6 {
					t.Fatalf("sample %d is neither the input nor the transformed input", b)
				}
			}
			applied++
		}
	}
	if applied == 0 || kept == 0 {
		t.Fatalf("RandomApply(0.5) over 32 samples: %d applied, %d kept; want both > 0", applied, kept)
	}
}

func TestGaussianNoiseStatistics(t *testing.T) {
	// Constant 0.5 image: the output's std must be sigma (clipping is 10 sigma away) and its
	// mean 0.5. With N = 50176 pixels, the standard error of the std is sigma/sqrt(2N) ≈ 0.3%
	// of sigma, and of the mean sigma/sqrt(N) ≈ 2.2e-4: tolerances are ~6 standard errors.
	const sigma = 0.05
	x := newBatch(64, 28, 28, 1)
	for i := range x.Data {
		x.Data[i] = 0.5
	}
	got := apply(t, 11, x, augment.GaussianNoise{Sigma: sigma})
	var sum, sq float64
	for _, v := range got.Data {
		sum += float64(v)
	}
	mean := sum / float64(len(got.Data))
	for _, v := range got.Data {
		sq += (float64(v) - mean) * (float64(v) - mean)
	}
	std := math.Sqrt(sq / float64(len(got.Data)-1))
	if math.Abs(std-sigma) > 0.02*sigma || math.Abs(mean-0.5) > 1.5e-3 {
		t.Fatalf("noise on constant 0.5: mean %.5f std %.5f; want 0.5 and %g", mean, std, sigma)
	}
}

// naiveBlur convolves sample b with the normalized Gaussian of sigma truncated at radius r,
// summing the full 2-D kernel with reflect padding.
func naiveBlur(x batch, b int, sigma float64, r int) []float32 {
	reflect := func(p, n int) int {
		for p < 0 || p >= n {
			if p < 0 {
				p = -p
			}
			if p >= n {
				p = 2*(n-1) - p
			}
		}
		return p
	}
	k := make([]float64, 2*r+1)
	sum := 0.0
	for d := -r; d <= r; d++ {
		k[d+r] = math.Exp(-float64(d*d) / (2 * sigma * sigma))
		sum += k[d+r]
	}
	out := make([]float32, 0, x.H*x.W*x.C)
	for i := 0; i < x.H; i++ {
		for j := 0; j < x.W; j++ {
			for c := 0; c < x.C; c++ {
				v := 0.0
				for dy := -r; dy <= r; dy++ {
					for dx := -r; dx <= r; dx++ {
						v += k[dy+r] * k[dx+r] / (sum * sum) * float64(x.at(b, reflect(i+dy, x.H), reflect(j+dx, x.W), c))
					}
				}
				out = append(out, float32(v))
			}
		}
	}
	return out
}

func TestBlurMatchesNaiveConvolution(t *testing.T) {
	x := loadBreast(t, 4)
	sigmas := []float32{0.3, 1.0, 2.0, 4.0}
	const r = 12 // 2r+1 = 25 < 28, reflect padding exercised at every border
	got := run(t, 1, func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{augment.Blur(in[0], in[1], r)}
	}, x.tensor(), tensors.FromValue(sigmas))[0]
	gb := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: got}
	for b, s := range sigmas {
		if d := maxAbsDiff(t, gb.sample(b), naiveBlur(x, b, float64(s), r)); d > 1e-5 {
			t.Errorf("sigma %g: differs from naive 2-D convolution by %g", s, d)
		}
	}
	// A tiny sigma is the identity.
	tiny := augment.GaussianBlur{Sigma: [2]float64{0.05, 0.05}, KernelSize: 5}
	if d := maxAbsDiff(t, apply(t, 1, x, tiny).Data, x.Data); d > 1e-6 {
		t.Errorf("blur with sigma 0.05 differs from the input by %g", d)
	}
	// Random per-sample sigma: every output equals the naive blur for some sigma in range;
	// the residual is minimized over a fine sigma grid and must be small.
	bl := augment.GaussianBlur{Sigma: [2]float64{0.5, 2.0}}
	rb := apply(t, 9, x, bl)
	for b := 0; b < x.B; b++ {
		best := math.Inf(1)
		for s := 0.5; s <= 2.0; s += 0.005 {
			best = math.Min(best, maxAbsDiff(t, rb.sample(b), naiveBlur(x, b, s, bl.Radius())))
		}
		if best > 2e-3 {
			t.Errorf("sample %d: random blur is not a Gaussian blur with sigma in [0.5, 2] (best residual %g)", b, best)
		}
	}
}
