package explain

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"gonum.org/v1/gonum/mat"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// Rollout equals the product of the per-layer matrices written with gonum from the
// returned attention maps: Â_l = rownorm(mean_h A_l,h + I), R = Â_L ⋯ Â_1, the class token's
// row over the patches; and every returned attention row is a distribution.
func TestRolloutMatchesNaive(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	imgs := ds.Test.Subset([]int{0, 3, 9})
	vit := models.ViTConfig{PatchSize: 4, Width: 16, Depth: 3, Heads: 2}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(2))
	m, err := FromEncoder(medssl.MustBackend(), store, vit)
	if err != nil {
		t.Fatal(err)
	}
	maps, err := m.Rollout(imgs)
	if err != nil {
		t.Fatal(err)
	}
	attn, heads, tt, err := m.Attention(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(attn) != vit.Depth || heads != vit.Heads || tt != 50 {
		t.Fatalf("%d layers, %d heads, %d tokens; want %d, %d, 50", len(attn), heads, tt, vit.Depth, vit.Heads)
	}
	for b, mp := range maps {
		r := mat.NewDense(tt, tt, nil)
		for i := range tt {
			r.Set(i, i, 1)
		}
		for l := range attn {
			a := mat.NewDense(tt, tt, nil)
			for h := range heads {
				for i := range tt {
					var sum float64
					for j := range tt {
						v := float64(attn[l][b][(h*tt+i)*tt+j])
						sum += v
						a.Set(i, j, a.At(i, j)+v/float64(heads))
					}
					if math.Abs(sum-1) > 1e-5 {
						t.Fatalf("image %d layer %d head %d: attention row %d sums to %v", b, l, h, i, sum)
					}
				}
			}
			for i := range tt {
				a.Set(i, i, a.At(i, i)+1)
				row := a.RawRowView(i)
				s := mat.Sum(mat.NewVecDense(tt, row))
				for j := range row {
					row[j] /= s
				}
			}
			var next mat.Dense
			next.Mul(a, r)
			r = &next
		}
		if mp.GridHeight != 7 || mp.GridWidth != 7 || mp.Height != 28 || mp.Width != 28 || mp.Method != MethodRollout {
			t.Fatalf("image %d: %s map %d×%d on %d×%d", b, mp.Method, mp.GridHeight, mp.GridWidth, mp.Height, mp.Width)
		}
		want := make([]float64, tt-1)
		for j := range want {
			want[j] = r.At(0, j+1)
			if math.Abs(float64(mp.Grid[j])-want[j]) > 1e-6 {
				t.Fatalf("image %d patch %d: rollout %v, naive %v", b, j, mp.Grid[j], want[j])
			}
		}
		// The stretch amplifies float32 rounding by 1/(max − min), so it is checked on the
		// returned grid (itself checked above): upsampled naively, then min-max scaled.
		grid := make([]float64, len(mp.Grid))
		lo, hi := math.Inf(1), math.Inf(-1)
		for j, v := range mp.Grid {
			grid[j] = float64(v)
			lo, hi = math.Min(lo, grid[j]), math.Max(hi, grid[j])
		}
		if math.Abs(mp.Contrast()-hi/lo) > 1e-9 {
			t.Fatalf("image %d: contrast %v, naive %v", b, mp.Contrast(), hi/lo)
		}
		up := naiveBilinear(grid, 7, 7, 28, 28)
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, v := range up {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		for i, v := range up {
			if math.Abs(float64(mp.Heat[i])-(v-lo)/(hi-lo)) > 1e-4 {
				t.Fatalf("image %d: heat[%d] = %v, naive %v", b, i, mp.Heat[i], (v-lo)/(hi-lo))
			}
		}
	}
	if _, err := FromEncoderMust(t, tinyResNet).Rollout(imgs); err == nil {
		t.Error("rollout of a ResNet accepted")
	}
}

// FromEncoderMust is FromEncoder on a fresh store, failing the test on error.
func FromEncoderMust(t *testing.T, enc models.Encoder) *Model {
	t.Helper()
	m, err := FromEncoder(medssl.MustBackend(), model.NewStore(), enc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Explain dispatches on the encoder: rollout for a ViT, whatever the head.
func TestExplainPicksMethod(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	sel, err := ChooseImages(ds.Test, 1, 4)
	if err != nil {
		t.Fatal(err)
	}
	col, err := NewColumn("knn", FromEncoderMust(t, models.ViTConfig{PatchSize: 7, Width: 8, Depth: 1, Heads: 2}), sel, TrueClass)
	if err != nil {
		t.Fatal(err)
	}
	if len(col.Maps) != sel.Images.N || col.Maps[0].Method != MethodRollout || col.Title != "knn (rollout)" {
		t.Errorf("ViT kNN column %q with %d maps", col.Title, len(col.Maps))
	}
}
