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

// naiveVICRegTerms computes VICReg's invariance, variance and covariance terms with plain
// loops, following the paper's reference code (unbiased variance and covariance).
func naiveVICRegTerms(za, zb [][]float64, gamma, eps float64) (inv, variance, cov float64) {
	b, d := len(za), len(za[0])
	for i := 0; i < b; i++ {
		for k := 0; k < d; k++ {
			inv += (za[i][k] - zb[i][k]) * (za[i][k] - zb[i][k])
		}
	}
	inv /= float64(b * d)
	one := func(z [][]float64) (v, c float64) {
		mean := make([]float64, d)
		for k := 0; k < d; k++ {
			for i := 0; i < b; i++ {
				mean[k] += z[i][k]
			}
			mean[k] /= float64(b)
		}
		for k := 0; k < d; k++ {
			for l := 0; l < d; l++ {
				s := 0.0
				for i := 0; i < b; i++ {
					s += (z[i][k] - mean[k]) * (z[i][l] - mean[l])
				}
				s /= float64(b - 1)
				if k == l {
					v += math.Max(0, gamma-math.Sqrt(s+eps))
				} else {
					c += s * s
				}
			}
		}
		return v / float64(d), c / float64(d)
	}
	va, ca := one(za)
	vb, cb := one(zb)
	return inv, (va + vb) / 2, ca + cb
}

func TestVICRegMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	backend := medssl.MustBackend()
	for _, tc := range []struct {
		b, d       int
		gamma, eps float64
		scale      float64 // scales zb so that the variance hinge is active on one view only
	}{{4, 3, 1, 1e-4, 1}, {8, 6, 1, 1e-4, 0.3}, {16, 5, 2, 1e-2, 3}} {
		za, zat := pretextRandMatrix(rng, tc.b, tc.d)
		zb, _ := pretextRandMatrix(rng, tc.b, tc.d)
		flat := make([]float64, 0, tc.b*tc.d)
		for i := range zb {
			for k := range zb[i] {
				zb[i][k] *= tc.scale
				flat = append(flat, zb[i][k])
			}
		}
		zbt := tensors.FromFlatDataAndDimensions(flat, tc.b, tc.d)
		terms := graph.MustExecOnceN(backend, func(a, b *graph.Node) []*graph.Node {
			inv, v, c := VICRegTerms(a, b, tc.gamma, tc.eps)
			return []*graph.Node{inv, v, c}
		}, zat, zbt)
		wi, wv, wc := naiveVICRegTerms(za, zb, tc.gamma, tc.eps)
		for i, want := range []float64{wi, wv, wc} {
			if got := tensors.ToScalar[float64](terms[i]); !pretextClose(got, want, 1e-9) {
				t.Errorf("B=%d D=%d: term %d (invariance, variance, covariance) = %v, naive %v", tc.b, tc.d, i, got, want)
			}
		}
		if tc.gamma == 1 && tc.eps == 1e-4 {
			got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return VICRegLoss(a, b, 25, 25, 1) }, zat, zbt)
			if want := 25*wi + 25*wv + wc; !pretextClose(got, want, 1e-9) {
				t.Errorf("B=%d D=%d: VICRegLoss %v, naive %v", tc.b, tc.d, got, want)
			}
		}
	}
}

func TestVICRegLossIsFinite(t *testing.T) {
	pretextLossOnce(t, NewVICReg(), testutil.SmallEncoder{Width: 16}, 16)
}

// VICReg's loss must fall on real BreastMNIST images within 30 steps (batch 32).
func TestVICRegLossFallsOnBreastMNIST(t *testing.T) {
	pretextLossFalls(t, NewVICReg(), 16, 30, 32, 3, 5)
}
