package ssl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/medssl/medssl/internal/testutil"
)

// naiveBarlowTwins computes the Barlow Twins loss with plain loops, from the paper's
// formula and its reference code (biased batch variance, ε = 1e-5).
func naiveBarlowTwins(z1, z2 [][]float64, lambda float64) float64 {
	b, d := len(z1), len(z1[0])
	standardize := func(z [][]float64) [][]float64 {
		out := make([][]float64, b)
		for i := range out {
			out[i] = make([]float64, d)
		}
		for k := 0; k < d; k++ {
			mean := 0.0
			for i := 0; i < b; i++ {
				mean += z[i][k]
			}
			mean /= float64(b)
			variance := 0.0
			for i := 0; i < b; i++ {
				variance += (z[i][k] - mean) * (z[i][k] - mean)
			}
			variance /= float64(b)
			for i := 0; i < b; i++ {
				out[i][k] = (z[i][k] - mean) / math.Sqrt(variance+1e-5)
			}
		}
		return out
	}
	a, c := standardize(z1), standardize(z2)
	loss := 0.0
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			cij := 0.0
			for n := 0; n < b; n++ {
				cij += a[n][i] * c[n][j]
			}
			cij /= float64(b)
			if i == j {
				loss += (1 - cij) * (1 - cij)
			} else {
				loss += lambda * cij * cij
			}
		}
	}
	return loss
}

func TestBarlowTwinsLossMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, tc := range []struct {
		b, d   int
		lambda float64
	}{{4, 3, 5e-3}, {8, 6, 0.5}, {16, 5, 1}} {
		z1, z1t := pretextRandMatrix(rng, tc.b, tc.d)
		z2, z2t := pretextRandMatrix(rng, tc.b, tc.d)
		got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return BarlowTwinsLoss(a, b, tc.lambda) }, z1t, z2t)
		if want := naiveBarlowTwins(z1, z2, tc.lambda); !pretextClose(got, want, 1e-9) {
			t.Errorf("B=%d D=%d λ=%v: BarlowTwinsLoss %v, naive %v", tc.b, tc.d, tc.lambda, got, want)
		}
	}
	// Hand-computed: two identical views whose two dimensions are standardised and
	// uncorrelated have C = I (up to ε): loss ≈ 0.
	z := tensors.FromFlatDataAndDimensions([]float64{1, 1, 1, -1, -1, 1, -1, -1}, 4, 2)
	got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return BarlowTwinsLoss(a, b, 5e-3) }, z, z)
	if want := 2 * math.Pow(1-1/(1+1e-5), 2); !pretextClose(got, want, 1e-6) {
		t.Errorf("identity cross-correlation: loss %v, want %v", got, want)
	}
}

func TestBarlowTwinsLossIsFinite(t *testing.T) {
	pretextLossOnce(t, NewBarlowTwins(), testutil.SmallEncoder{Width: 16}, 16)
}

// Barlow Twins' loss must fall on real BreastMNIST images within 30 steps (batch 32).
func TestBarlowTwinsLossFallsOnBreastMNIST(t *testing.T) {
	pretextLossFalls(t, NewBarlowTwins(), 16, 30, 32, 3, 3)
}
