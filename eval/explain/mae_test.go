package explain

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// tinyMAE pretrains a small MAE for a few steps on BreastMNIST.
func tinyMAE(t *testing.T) (*ssl.Pretrained, *ssl.MAE) {
	t.Helper()
	ds := testutil.BreastMNIST(t)
	mae := ssl.NewMAE()
	mae.DecoderWidth, mae.DecoderDepth = 32, 1
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = medssl.MustBackend(), models.ViTConfig{PatchSize: 4, Width: 32, Depth: 2, Heads: 2}, mae
	cfg.Steps, cfg.BatchSize, cfg.Seed, cfg.MonitorEpochs = 3, 32, 1, 0
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return pre, mae
}

// The reconstruction keeps the visible patches, shows the hidden ones grey in the masked
// input, and fills them with the decoder's prediction mapped back with the true patch's
// statistics. The reference runs ssl.MAE.Reconstruct on its own copy of the store with
// the same seed and reads patches through models.Patchify, not through the host-side
// indexing under test.
func TestMAEReconstructions(t *testing.T) {
	pre, mae := tinyMAE(t)
	ds := testutil.BreastMNIST(t)
	imgs := ds.Test.Subset([]int{0, 1, 2})
	before := pre.Store.NumVariables()
	rng := pre.Store.GetVariable("/" + model.RNGStateVariableName)
	rngBefore := flat64u(t, rng.MustValue())
	recs, err := MAEReconstructions(medssl.MustBackend(), pre.Store, pre.Encoder, mae, imgs, 5)
	if err != nil {
		t.Fatal(err)
	}
	if pre.Store.NumVariables() != before || !slices.Equal(flat64u(t, rng.MustValue()), rngBefore) {
		t.Error("MAEReconstructions changed the pretraining's store")
	}

	ref := model.NewStore()
	for v := range pre.Store.IterVariables() {
		if v.Name() == model.RNGStateVariableName {
			continue
		}
		if _, err := ref.Scope(v.Scope()).CreateVariable(v.Name(), v.MustValue()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ref.SetRNGStateFromSeed(5); err != nil {
		t.Fatal(err)
	}
	out, err := model.MustNewExec(medssl.MustBackend(), ref, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		pred, target, masked := mae.Reconstruct(scope, pre.Encoder, x)
		return []*graph.Node{pred, target, masked}
	}).Exec(imgs.ImagesTensor())
	if err != nil {
		t.Fatal(err)
	}
	pred, target, masked := flat64(t, out[0]), flat64(t, out[1]), flat64(t, out[2])
	const n, pp, p, gw = 49, 16, 4, 7
	orig := imgs.ImagesFloat32([]int{0, 1, 2})
	for b, rec := range recs {
		hidden := 0
		for patch := range n {
			isHidden := masked[b*n+patch] == 1
			if rec.Hidden[patch] != isHidden {
				t.Fatalf("image %d patch %d: hidden %v, reference %v", b, patch, rec.Hidden[patch], isHidden)
			}
			var mean, ss float64
			for o := range pp {
				mean += target[(b*n+patch)*pp+o]
			}
			mean /= pp
			for o := range pp {
				d := target[(b*n+patch)*pp+o] - mean
				ss += d * d
			}
			std := math.Sqrt(ss/(pp-1) + 1e-6)
			for o := range pp {
				i, j := (patch/gw)*p+o/p, (patch%gw)*p+o%p
				px := i*28 + j
				if float64(orig[b*784+px]) != target[(b*n+patch)*pp+o] {
					t.Fatalf("test indexing: pixel (%d, %d) is not patch %d value %d", i, j, patch, o)
				}
				if rec.Original[px] != orig[b*784+px] {
					t.Fatalf("image %d: original pixel %d changed", b, px)
				}
				wantMasked, wantRec := float64(orig[b*784+px]), float64(orig[b*784+px])
				if isHidden {
					wantMasked = MaskedGray
					wantRec = math.Min(1, math.Max(0, pred[(b*n+patch)*pp+o]*std+mean))
				}
				wantPattern := float64(orig[b*784+px])
				if isHidden {
					wantPattern = math.Min(1, math.Max(0, 0.5+pred[(b*n+patch)*pp+o]/4))
				}
				if math.Abs(float64(rec.Pattern[px])-wantPattern) > 1e-6 {
					t.Fatalf("image %d pixel (%d, %d): pattern %v, want %v", b, i, j, rec.Pattern[px], wantPattern)
				}
				if math.Abs(float64(rec.Masked[px])-wantMasked) > 1e-6 || math.Abs(float64(rec.Reconstructed[px])-wantRec) > 1e-5 {
					t.Fatalf("image %d pixel (%d, %d), hidden %v: masked %v reconstructed %v, want %v %v",
						b, i, j, isHidden, rec.Masked[px], rec.Reconstructed[px], wantMasked, wantRec)
				}
			}
			if isHidden {
				hidden++
			}
		}
		if want := n - int(float64(n)*(1-mae.MaskRatio)); hidden != want {
			t.Errorf("image %d: %d hidden patches, want %d", b, hidden, want)
		}
	}

	// Without normalised targets the prediction is the pixels themselves, and there is no
	// separate pattern to show.
	raw := *mae
	raw.NormPixLoss = false
	plain, err := MAEReconstructions(medssl.MustBackend(), pre.Store, pre.Encoder, &raw, imgs, 5)
	if err != nil {
		t.Fatal(err)
	}
	for b, rec := range plain {
		if rec.Pattern != nil {
			t.Fatal("a pattern for a raw-pixel MAE")
		}
		for patch := range n {
			if !rec.Hidden[patch] {
				continue
			}
			for o := range pp {
				px := ((patch/gw)*p+o/p)*28 + (patch%gw)*p + o%p
				if want := math.Min(1, math.Max(0, pred[(b*n+patch)*pp+o])); math.Abs(float64(rec.Reconstructed[px])-want) > 1e-6 {
					t.Fatalf("raw-pixel MAE, image %d pixel %d: %v, want %v", b, px, rec.Reconstructed[px], want)
				}
			}
		}
	}

	again, err := MAEReconstructions(medssl.MustBackend(), pre.Store, pre.Encoder, mae, imgs, 5)
	if err != nil {
		t.Fatal(err)
	}
	other, err := MAEReconstructions(medssl.MustBackend(), pre.Store, pre.Encoder, mae, imgs, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again[0].Hidden, recs[0].Hidden) || slices.Equal(other[0].Hidden, recs[0].Hidden) {
		t.Error("masks do not follow the seed")
	}

	grid, err := MAEGrid("mae", []string{"a", "b", "c"}, recs)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteGrid(filepath.Join(t.TempDir(), "mae.png"), grid); err != nil {
		t.Fatal(err)
	}

	// An encoder checkpoint has no decoder; a decoder of another size is not the one trained.
	ckDir := filepath.Join(t.TempDir(), "ck")
	if err := pre.SaveEncoder(ckDir); err != nil {
		t.Fatal(err)
	}
	ck, err := ssl.LoadEncoder(ckDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := MAEReconstructions(medssl.MustBackend(), ck.Store, pre.Encoder, mae, imgs, 5); err == nil {
		t.Error("an encoder checkpoint without decoder accepted")
	}
	deeper := *mae
	deeper.DecoderDepth = 2
	if _, err := MAEReconstructions(medssl.MustBackend(), pre.Store, pre.Encoder, &deeper, imgs, 5); err == nil {
		t.Error("a deeper decoder than the pretrained one accepted")
	}
}

func flat64u(t *testing.T, x *tensors.Tensor) []uint64 {
	t.Helper()
	f, err := tensors.CopyFlatData[uint64](x)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
