package ssl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
)

// naiveNegativeCosine is −(1/B) Σ_b p_b·z_b/(‖p_b‖‖z_b‖) with plain loops.
func naiveNegativeCosine(p, z [][]float64) float64 {
	total := 0.0
	for b := range p {
		dot, np, nz := 0.0, 0.0, 0.0
		for k := range p[b] {
			dot += p[b][k] * z[b][k]
			np += p[b][k] * p[b][k]
			nz += z[b][k] * z[b][k]
		}
		total += dot / math.Sqrt(np*nz)
	}
	return -total / float64(len(p))
}

func TestNegativeCosineMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct{ b, d int }{{1, 3}, {4, 5}, {9, 2}} {
		p, pt := pretextRandMatrix(rng, tc.b, tc.d)
		z, zt := pretextRandMatrix(rng, tc.b, tc.d)
		got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return NegativeCosine(a, b) }, pt, zt)
		if want := naiveNegativeCosine(p, z); !pretextClose(got, want, 1e-9) {
			t.Errorf("B=%d D=%d: NegativeCosine %v, naive %v", tc.b, tc.d, got, want)
		}
	}
	// Hand-computed: parallel rows give −1, opposite rows +1, orthogonal rows 0.
	p := tensors.FromFlatDataAndDimensions([]float64{1, 0, 2, 2, 0, 3}, 3, 2)
	z := tensors.FromFlatDataAndDimensions([]float64{3, 0, -1, -1, 5, 0}, 3, 2)
	got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return NegativeCosine(a, b) }, p, z)
	if want := -(1.0 - 1.0 + 0.0) / 3; !pretextClose(got, want, 1e-12) {
		t.Errorf("hand-made rows: NegativeCosine %v, want %v", got, want)
	}
}

func TestSimSiamLossMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	p1, p1t := pretextRandMatrix(rng, 5, 4)
	p2, p2t := pretextRandMatrix(rng, 5, 4)
	z1, z1t := pretextRandMatrix(rng, 5, 4)
	z2, z2t := pretextRandMatrix(rng, 5, 4)
	got := pretextScalar(t, func(a, b, c, d *graph.Node) *graph.Node { return SimSiamLoss(a, b, c, d) }, p1t, p2t, z1t, z2t)
	want := 0.5*naiveNegativeCosine(p1, z2) + 0.5*naiveNegativeCosine(p2, z1)
	if !pretextClose(got, want, 1e-9) {
		t.Errorf("SimSiamLoss %v, naive %v", got, want)
	}
}

// The stop-gradient: the loss's gradient is zero with respect to the projections z (the
// target branch) and non-zero with respect to the predictions p, where it matches central
// finite differences.
func TestSimSiamTargetBranchGetsNoGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	_, p1 := pretextRandMatrix(rng, 3, 4)
	_, p2 := pretextRandMatrix(rng, 3, 4)
	_, z1 := pretextRandMatrix(rng, 3, 4)
	_, z2 := pretextRandMatrix(rng, 3, 4)
	grads := graph.MustExecOnceN(medssl.MustBackend(), func(p1, p2, z1, z2 *graph.Node) []*graph.Node {
		return graph.Gradient(SimSiamLoss(p1, p2, z1, z2), p1, p2, z1, z2)
	}, p1, p2, z1, z2)
	for i, name := range []string{"p1", "p2", "z1", "z2"} {
		g := tensors.MustCopyFlatData[float64](grads[i])
		norm := 0.0
		for _, v := range g {
			norm += v * v
		}
		if target := i >= 2; target && norm != 0 {
			t.Errorf("gradient with respect to %s is %v, want zero (stop-gradient)", name, g)
		} else if !target && norm == 0 {
			t.Errorf("gradient with respect to %s is zero", name)
		}
	}
	// d/dp1 against finite differences of the naive loss.
	p1f := tensors.MustCopyFlatData[float64](p1)
	rows := func(flat []float64) [][]float64 {
		out := make([][]float64, 3)
		for i := range out {
			out[i] = flat[i*4 : (i+1)*4]
		}
		return out
	}
	z2r := rows(tensors.MustCopyFlatData[float64](z2))
	g := tensors.MustCopyFlatData[float64](grads[0])
	const h = 1e-6
	for i := range p1f {
		plus, minus := append([]float64(nil), p1f...), append([]float64(nil), p1f...)
		plus[i] += h
		minus[i] -= h
		want := 0.5 * (naiveNegativeCosine(rows(plus), z2r) - naiveNegativeCosine(rows(minus), z2r)) / (2 * h)
		if math.Abs(g[i]-want) > 1e-6 {
			t.Fatalf("dL/dp1[%d] = %v, finite differences %v", i, g[i], want)
		}
	}
}

func TestSimSiamLossIsFinite(t *testing.T) {
	l := pretextLossOnce(t, NewSimSiam(), testutil.SmallEncoder{Width: 16}, 16)
	if l < -1 || l > 1 {
		t.Errorf("SimSiam loss %v outside [−1, 1]", l)
	}
}

// SimSiam's loss must fall on real BreastMNIST images within 100 steps (batch 32), from
// about 0 (unrelated random projections) towards −1. It falls steadily but slowly at this
// scale (about −0.2 after 100 steps, −0.3 after 200 with this encoder), hence the
// 32-wide encoder and means over 10 steps.
func TestSimSiamLossFallsOnBreastMNIST(t *testing.T) {
	pretextLossFalls(t, NewSimSiam(), 32, 100, 32, 10, 0.1)
}
