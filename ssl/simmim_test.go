package ssl

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/models"
)

func TestPixelShuffleMatchesNaive(t *testing.T) {
	const b, h, w, s, c = 2, 3, 4, 2, 3
	x := make([]float32, b*h*w*s*s*c)
	for i := range x {
		x[i] = float32(i)
	}
	out, err := model.CallOnce(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, x *graph.Node) *graph.Node {
		return PixelShuffle(x, s)
	}, tensors.FromFlatDataAndDimensions(x, b, h, w, s*s*c))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out)
	for bi := range b {
		for y := range h * s {
			for xx := range w * s {
				for ch := range c {
					// Output pixel (y, x) is value (y%s, x%s, ch) of position (y/s, x/s).
					want := x[(((bi*h+y/s)*w+xx/s)*s*s*c)+((y%s)*s+xx%s)*c+ch]
					if v := got[((bi*h*s+y)*w*s+xx)*c+ch]; v != want {
						t.Fatalf("out[%d,%d,%d,%d] = %v, want %v", bi, y, xx, ch, v, want)
					}
				}
			}
		}
	}
}

// TestSimMIMMaskAndLossMatchNaive: on real MRI slices, each image hides exactly
// ⌈N·0.6⌉ whole 8×8 patches, and the loss equals the L1 distance on hidden pixels
// computed on the host from the prediction and the target; for a ResNet and a ViT.
func TestSimMIMMaskAndLossMatchNaive(t *testing.T) {
	images := firstImages(mriSlices(t), 6, 30)
	for _, enc := range []models.Encoder{denseTestEncoder(), models.ViTConfig{PatchSize: 4, Width: 32, Depth: 1, Heads: 2, MLPRatio: 2}} {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(4))
		m := NewSimMIM()
		out, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			pred, target, mask := m.Reconstruct(scope, enc, in[0])
			return []*graph.Node{pred, target, mask, SimMIMLoss(pred, target, mask)}
		}, images)
		if err != nil {
			t.Fatal(err)
		}
		pred, target, mask := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
		const h, w, p = 48, 40, 8
		n := (h / p) * (w / p)
		wantHidden := int(math.Ceil(float64(n) * 0.6))
		var l1, count float64
		for bi := range 6 {
			hidden := 0
			for py := range h / p {
				for px := range w / p {
					v := mask[(bi*h+py*p)*w+px*p]
					for y := py * p; y < (py+1)*p; y++ {
						for x := px * p; x < (px+1)*p; x++ {
							if mask[(bi*h+y)*w+x] != v {
								t.Fatalf("%s: patch (%d, %d) of image %d is partly masked", enc.Name(), py, px, bi)
							}
						}
					}
					if v == 1 {
						hidden++
					}
				}
			}
			if hidden != wantHidden {
				t.Errorf("%s: image %d hides %d patches, want %d", enc.Name(), bi, hidden, wantHidden)
			}
		}
		for i := range pred {
			if mask[i] == 1 {
				l1 += math.Abs(float64(pred[i] - target[i]))
				count++
			}
		}
		want := l1 / (count + 1e-5) // one channel
		if got := float64(tensors.ToScalar[float32](out[3])); math.Abs(got-want) > 1e-5*want {
			t.Errorf("%s: SimMIM loss %v, naive %v", enc.Name(), got, want)
		}
	}
}

// SimMIM on real MRI slices with a small ResNet: the loss falls within 40 steps.
func TestSimMIMLossFallsOnRealSlices(t *testing.T) {
	cfg := testPretrain(denseTestEncoder(), NewSimMIM(), 40, 16, 2)
	cfg.Augment, cfg.MonitorEpochs = nil, 0
	res, err := Pretrain(mriSlices(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(res.Loss[:5]), mean(res.Loss[35:])
	t.Logf("simmim loss: first 5 steps %.4f, last 5 steps %.4f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss did not fall by 30%%: first 5 steps %.4f, last 5 %.4f", first, last)
	}
}
