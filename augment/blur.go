package augment

import (
	"math"

	"github.com/gomlx/compute/dtypes"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// GaussianBlur blurs each image with an isotropic Gaussian whose σ ~ U(Sigma) is drawn per
// sample (SimCLR: σ ∈ [0.1, 2.0] for 224 px images), with reflect padding as torchvision's
// GaussianBlur.
type GaussianBlur struct {
	// Sigma is the range of σ in pixels.
	Sigma [2]float64
	// KernelSize is the odd kernel width in pixels; 0 picks 2·⌈3·Sigma[1]⌉+1, which
	// keeps all but ~0.3% of the Gaussian's mass.
	KernelSize int
}

// NewGaussianBlur returns SimCLR's σ range (0.1, 2.0) with the automatic kernel size.
func NewGaussianBlur() GaussianBlur { return GaussianBlur{Sigma: [2]float64{0.1, 2}} }

// Radius returns the kernel radius r (kernel width 2r+1).
func (t GaussianBlur) Radius() int {
	if t.KernelSize > 0 {
		if t.KernelSize%2 == 0 {
			exceptions.Panicf("augment.GaussianBlur: KernelSize must be odd, got %d", t.KernelSize)
		}
		return t.KernelSize / 2
	}
	return int(math.Ceil(3 * t.Sigma[1]))
}

// Apply implements Transform.
func (t GaussianBlur) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("GaussianBlur", images)
	if t.Sigma[1] <= 0 || t.Sigma[0] <= 0 || t.Sigma[1] < t.Sigma[0] {
		exceptions.Panicf("augment.GaussianBlur: invalid Sigma range %v", t.Sigma)
	}
	sigmas := uniform(scope, images.Graph(), images.DType(), t.Sigma[0], t.Sigma[1], b)
	return Blur(images, sigmas, t.Radius())
}

// Blur convolves sample b of images [B, H, W, C] with a Gaussian of standard deviation
// sigmas[b] (pixels) truncated to radius r, with reflect padding (…, x2, x1 | x0, x1, …):
//
//	k(d) = exp(−d²/(2σ²)) / Σ_{|e|≤r} exp(−e²/(2σ²)),  d = −r…r,
//	out[i, j] = Σ_{dy,dx} k(dy)·k(dx)·img[reflect(i+dy), reflect(j+dx)].
//
// The 2-D kernel is separable, so out[b] = Ky[b] · img[b] · Kx[b]ᵀ with banded [H, H] and
// [W, W] matrices K[b] = Σ_d k_b(d)·P_d, where P_d is the constant 0/1 matrix that picks
// reflect(i+d): two small matrix products build the matrices, two more apply them.
func Blur(images, sigmas *Node, r int) *Node {
	b, h, w, _ := checkImages("Blur", images)
	g := images.Graph()
	dt := images.DType()
	d := graph.AddScalar(graph.Iota(g, shapesOf(dt, 1, 2*r+1), 1), -float64(r)) // [1, 2r+1]
	s := graph.Reshape(sigmas, b, 1)
	k := graph.Exp(graph.Neg(graph.Div(graph.Square(d), graph.MulScalar(graph.Square(s), 2)))) // [B, 2r+1]
	k = graph.Div(k, graph.ReduceAndKeep(k, graph.ReduceSum, 1))
	ky := graph.Einsum("bk,kij->bij", k, graph.Const(g, reflectShifts(h, r, dt == dtypes.Float64)))
	kx := ky
	if w != h {
		kx = graph.Einsum("bk,kij->bij", k, graph.Const(g, reflectShifts(w, r, dt == dtypes.Float64)))
	}
	kx = graph.ConvertDType(kx, dt)
	ky = graph.ConvertDType(ky, dt)
	tmp := graph.Einsum("boh,bhwc->bowc", ky, images)
	return graph.Einsum("bpw,bowc->bopc", kx, tmp)
}

// reflectShifts returns P [2r+1][n][n] with P[d+r][i][reflect(i+d)] = 1 (float32, or
// float64 when f64 is set).
func reflectShifts(n, r int, f64 bool) any {
	idx := func(d, i int) int { return reflectIndex(i+d, n) }
	if f64 {
		p := make([][][]float64, 2*r+1)
		for d := -r; d <= r; d++ {
			p[d+r] = make([][]float64, n)
			for i := range n {
				p[d+r][i] = make([]float64, n)
				p[d+r][i][idx(d, i)] = 1
			}
		}
		return p
	}
	p := make([][][]float32, 2*r+1)
	for d := -r; d <= r; d++ {
		p[d+r] = make([][]float32, n)
		for i := range n {
			p[d+r][i] = make([]float32, n)
			p[d+r][i][idx(d, i)] = 1
		}
	}
	return p
}

// reflectIndex maps p into [0, n) by mirror reflection without repeating the edge
// (numpy/torch "reflect"), repeatedly for |p| ≥ n.
func reflectIndex(p, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	p %= period
	if p < 0 {
		p += period
	}
	if p >= n {
		p = period - p
	}
	return p
}
