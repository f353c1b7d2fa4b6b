package ssl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/medssl/medssl"
)

// naiveNTXent computes NT-Xent with plain loops, straight from the formula in Chen et al.
func naiveNTXent(z1, z2 [][]float64, tau float64) float64 {
	z := append(append([][]float64{}, z1...), z2...)
	n := len(z)
	b := len(z1)
	for i := range z {
		norm := 0.0
		for _, v := range z[i] {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		u := make([]float64, len(z[i]))
		for k, v := range z[i] {
			u[k] = v / norm
		}
		z[i] = u
	}
	sim := func(i, j int) float64 {
		s := 0.0
		for k := range z[i] {
			s += z[i][k] * z[j][k]
		}
		return s / tau
	}
	total := 0.0
	for i := 0; i < n; i++ {
		p := (i + b) % n
		den := 0.0
		for j := 0; j < n; j++ {
			if j != i {
				den += math.Exp(sim(i, j))
			}
		}
		total += -sim(i, p) + math.Log(den)
	}
	return total / float64(n)
}

func TestNTXentMatchesNaive(t *testing.T) {
	backend := medssl.MustBackend()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		b, d int
		tau  float64
	}{{2, 3, 0.5}, {5, 8, 0.1}, {7, 4, 1.0}} {
		z1 := make([][]float64, tc.b)
		z2 := make([][]float64, tc.b)
		f1 := make([]float32, 0, tc.b*tc.d)
		f2 := make([]float32, 0, tc.b*tc.d)
		for i := range tc.b {
			z1[i] = make([]float64, tc.d)
			z2[i] = make([]float64, tc.d)
			for k := range tc.d {
				a, c := float32(rng.NormFloat64()), float32(rng.NormFloat64())
				z1[i][k], z2[i][k] = float64(a), float64(c)
				f1 = append(f1, a)
				f2 = append(f2, c)
			}
		}
		want := naiveNTXent(z1, z2, tc.tau)
		exec := graph.MustNewExec(backend, func(a, c *graph.Node) *graph.Node { return NTXent(a, c, tc.tau) })
		got := exec.MustExec1(tensors.FromFlatDataAndDimensions(f1, tc.b, tc.d), tensors.FromFlatDataAndDimensions(f2, tc.b, tc.d)).Value().(float32)
		if math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
			t.Errorf("B=%d D=%d tau=%v: NTXent=%v, naive=%v", tc.b, tc.d, tc.tau, got, want)
		}
	}
}

// Aligned views (each image's two embeddings equal) must score lower than misaligned ones;
// an off-by-one in the positive mask would break this.
func TestNTXentPrefersAlignedViews(t *testing.T) {
	backend := medssl.MustBackend()
	exec := graph.MustNewExec(backend, func(a, c *graph.Node) *graph.Node { return NTXent(a, c, 0.5) })
	z := []float32{1, 0, 0, 1, -1, 0, 0, -1}
	shuffled := []float32{0, 1, -1, 0, 0, -1, 1, 0}
	aligned := exec.MustExec1(tensors.FromFlatDataAndDimensions(z, 4, 2), tensors.FromFlatDataAndDimensions(z, 4, 2)).Value().(float32)
	mis := exec.MustExec1(tensors.FromFlatDataAndDimensions(z, 4, 2), tensors.FromFlatDataAndDimensions(shuffled, 4, 2)).Value().(float32)
	if !(aligned < mis) {
		t.Fatalf("aligned views loss %v should be below misaligned %v", aligned, mis)
	}
}
