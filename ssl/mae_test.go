package ssl

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// maeTestViT and maeTestMethod are small enough for unit tests.
func maeTestViT() models.ViTConfig {
	return models.ViTConfig{PatchSize: 4, Width: 32, Depth: 2, Heads: 2, MLPRatio: 2}
}

func maeTestMethod() *MAE {
	m := NewMAE()
	m.DecoderWidth, m.DecoderDepth, m.DecoderHeads, m.DecoderMLPRatio = 32, 1, 2, 2
	return m
}

// breastImages returns the first n BreastMNIST training images, [n, 28, 28, 1].
func breastImages(t *testing.T, n int) *tensors.Tensor {
	t.Helper()
	tr := breastTrain(t)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return tensors.FromFlatDataAndDimensions(tr.ImagesFloat32(idx), n, tr.Height, tr.Width, tr.Channels)
}

func TestMAEShapesAndMask(t *testing.T) {
	const b, n, keep = 4, 49, 12 // 28 px, patch 4: 7×7 patches, ⌊49·0.25⌋ visible
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(5))
	m, vit := maeTestMethod(), maeTestViT()
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		pred, target, masked := m.Reconstruct(scope, vit, x)
		return []*graph.Node{pred, target, masked}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(breastImages(t, b))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range [][]int{{b, n, 16}, {b, n, 16}, {b, n}} {
		if got := out[i].Shape().Dimensions; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || (len(want) == 3 && got[2] != want[2]) {
			t.Fatalf("output %d shape %v, want %v", i, got, want)
		}
	}
	mask := tensors.MustCopyFlatData[float32](out[2])
	rows := map[string]bool{}
	for i := range b {
		hidden := 0
		var key strings.Builder
		for _, v := range mask[i*n : (i+1)*n] {
			if v != 0 && v != 1 {
				t.Fatalf("mask value %v, want 0 or 1", v)
			}
			hidden += int(v)
			key.WriteByte('0' + byte(v))
		}
		if hidden != n-keep {
			t.Errorf("image %d: %d hidden patches, want %d", i, hidden, n-keep)
		}
		rows[key.String()] = true
	}
	if len(rows) < 2 {
		t.Errorf("all %d images got the same mask; want one per image", b)
	}
	// The encoder's variables are the ViT's own: Encode on the same store creates none.
	before := store.NumVariables()
	g := graph.NewGraph(medssl.MustBackend(), "encode")
	vit.Encode(store.RootScope().In(models.EncoderScope), graph.Parameter(g, "x", shapes.Make(dtypes.Float32, b, 28, 28, 1)))
	if store.NumVariables() != before {
		t.Errorf("Encode after MAE created %d new variables: MAE's encoder weights are not found by name", store.NumVariables()-before)
	}
	g.Finalize()
}

// naiveMAELoss is the MAE loss in plain Go: pred, target [B][N][P], mask [B][N].
func naiveMAELoss(pred, target [][][]float64, mask [][]float64, normPix bool) float64 {
	var num, den float64
	for b := range pred {
		for n := range pred[b] {
			t := append([]float64(nil), target[b][n]...)
			p := float64(len(t))
			if normPix {
				var mean, v float64
				for _, x := range t {
					mean += x
				}
				mean /= p
				for _, x := range t {
					v += (x - mean) * (x - mean)
				}
				v /= p - 1
				for i := range t {
					t[i] = (t[i] - mean) / math.Sqrt(v+1e-6)
				}
			}
			var mse float64
			for i := range t {
				mse += (pred[b][n][i] - t[i]) * (pred[b][n][i] - t[i])
			}
			num += mask[b][n] * mse / p
			den += mask[b][n]
		}
	}
	return num / den
}

// maeCase is a random (pred, target, mask) triple as nested slices and tensors.
type maeCase struct {
	pred, target [][][]float64
	mask         [][]float64
}

func newMAECase(rng *rand.Rand, b, n, p int) maeCase {
	c := maeCase{}
	cube := func() [][][]float64 {
		x := make([][][]float64, b)
		for i := range x {
			x[i] = make([][]float64, n)
			for j := range x[i] {
				x[i][j] = make([]float64, p)
				for k := range x[i][j] {
					x[i][j][k] = float64(float32(rng.Float64()*2 - 0.5))
				}
			}
		}
		return x
	}
	c.pred, c.target = cube(), cube()
	c.mask = make([][]float64, b)
	for i := range c.mask {
		c.mask[i] = make([]float64, n)
		for j := range c.mask[i] {
			if rng.IntN(4) != 0 {
				c.mask[i][j] = 1
			}
		}
		c.mask[i][0] = 1 // at least one hidden patch per image
	}
	return c
}

func (c maeCase) loss(t *testing.T, normPix bool) float64 {
	t.Helper()
	flat3 := func(x [][][]float64) *tensors.Tensor {
		var out []float32
		for _, a := range x {
			for _, r := range a {
				for _, v := range r {
					out = append(out, float32(v))
				}
			}
		}
		return tensors.FromFlatDataAndDimensions(out, len(x), len(x[0]), len(x[0][0]))
	}
	var m []float32
	for _, r := range c.mask {
		for _, v := range r {
			m = append(m, float32(v))
		}
	}
	mt := tensors.FromFlatDataAndDimensions(m, len(c.mask), len(c.mask[0]))
	out := graph.MustExecOnce(medssl.MustBackend(), func(p, tg, mk *graph.Node) *graph.Node {
		return MAELoss(p, tg, mk, normPix)
	}, flat3(c.pred), flat3(c.target), mt)
	return float64(tensors.ToScalar[float32](out))
}

func TestMAELossMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range [][3]int{{1, 2, 2}, {2, 5, 4}, {3, 9, 16}} {
		c := newMAECase(rng, dims[0], dims[1], dims[2])
		for _, normPix := range []bool{false, true} {
			got, want := c.loss(t, normPix), naiveMAELoss(c.pred, c.target, c.mask, normPix)
			if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("B,N,P=%v normPix=%v: MAELoss=%v, naive=%v", dims, normPix, got, want)
			}
		}
	}
}

// Predictions and pixels of visible patches do not change the loss; of a hidden one, do.
func TestMAELossIgnoresVisiblePatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	c := newMAECase(rng, 2, 8, 4)
	c.mask[1][3] = 0
	c.mask[0][5] = 1
	for _, normPix := range []bool{false, true} {
		base := c.loss(t, normPix)
		c.pred[1][3][0] += 5
		c.target[1][3][2] -= 3
		if got := c.loss(t, normPix); got != base {
			t.Errorf("normPix=%v: changing a visible patch changed the loss %v -> %v", normPix, base, got)
		}
		c.pred[0][5][1] += 5
		if got := c.loss(t, normPix); math.Abs(got-base) < 1e-3 {
			t.Errorf("normPix=%v: changing a hidden patch's prediction left the loss at %v", normPix, got)
		}
		c.pred[0][5][1] -= 5
	}
}

// MAE on real BreastMNIST with a small ViT: the loss falls within 30 steps.
func TestMAELossFallsOnBreastMNIST(t *testing.T) {
	cfg := testPretrain(maeTestViT(), maeTestMethod(), 30, 32, 3)
	res, err := Pretrain(breastTrain(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(res.Loss[:5]), mean(res.Loss[25:])
	t.Logf("MAE loss: first 5 steps %.4f, last 5 steps %.4f", first, last)
	if !(last < 0.8*first) {
		t.Errorf("loss did not fall by 20%%: first 5 steps %.4f, last 5 %.4f", first, last)
	}
}

func TestMAENeedsViT(t *testing.T) {
	cfg := testPretrain(testutil.SmallEncoder{Width: 8}, NewMAE(), 1, 8, 0)
	_, err := Pretrain(breastTrain(t), cfg)
	if err == nil || !strings.Contains(err.Error(), "ViT") {
		t.Fatalf("MAE with a CNN encoder: err = %v, want an error asking for a ViT", err)
	}
	if m, err := New("mae"); err != nil || m.Views() != 1 {
		t.Errorf("New(\"mae\") = %v, %v; want the registered MAE with 1 view", m, err)
	}
}
