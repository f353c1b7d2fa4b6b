package explain

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// Reconstruction is one image's masked-autoencoder result, as the MAE paper shows it:
// the original, the masked input (hidden patches filled with MaskedGray), and the
// reconstruction, each Height·Width·Channels values in [0, 1], channels-last.
type Reconstruction struct {
	Height, Width, Channels int
	PatchSize               int
	// Hidden tells, per patch of the row-major patch grid, whether the encoder did not see it.
	Hidden                          []bool
	Original, Masked, Reconstructed []float32
	// Pattern, for an MAE trained on normalised patches (NormPixLoss), shows what the model
	// alone predicts: the visible patches as they are and each hidden patch's normalised
	// prediction z at 0.5 + z/4 (mean grey, ±2 standard deviations spanning black to
	// white), without the true patch statistics that Reconstructed borrows. nil otherwise.
	Pattern []float32
}

// MaskedGray is the value hidden patches show in Reconstruction.Masked (the MAE paper's
// figures fill them with grey).
const MaskedGray = 0.5

// MAEReconstructions runs a pretrained MAE on images and returns each image's
// Reconstruction. store must hold the whole pretraining (ssl.Pretrained.Store): the
// encoder under models.EncoderScope and the decoder under ssl.MethodScope; an encoder
// checkpoint has no decoder and is refused. mae must be configured as in that pretraining
// (decoder sizes; a mismatch is refused rather than filled with fresh weights).
//
// The masks come from seed (the same seed and images give the same masks, whatever store)
// and MAE's own masking of mae.MaskRatio of the patches. In the reconstruction the visible
// patches are the original pixels pasted back (the MAE paper suggests overlaying them, as
// no loss is computed there) and the hidden ones are the decoder's predictions. With
// mae.NormPixLoss the decoder predicts each patch normalised by its own mean and standard
// deviation; the prediction is mapped back with the true patch's mean and (unbiased)
// standard deviation, as VideoMAE's visualisation does, so a hidden patch's brightness and
// contrast come from the original and only its pattern is the model's (Pattern shows that
// pattern alone; the MAE paper's figures avoid the issue with a model trained on raw
// pixels). Pixels are clipped to [0, 1]. The store is not changed (the masks are drawn in
// a copy).
func MAEReconstructions(backend compute.Backend, store *model.Store, enc models.Encoder, mae *ssl.MAE, images *data.Split, seed int64) (recs []Reconstruction, err error) {
	defer trainutil.Recover("explain: MAE reconstructions", &err)
	vit, ok := vitOf(enc)
	switch {
	case backend == nil || store == nil || mae == nil:
		return nil, errors.New("explain: MAEReconstructions needs a backend, the pretraining's store and its MAE")
	case !ok:
		return nil, fmt.Errorf("explain: MAE needs a ViT encoder, got %s", enc.Name())
	case images == nil || images.N == 0:
		return nil, errors.New("explain: no images")
	}
	// A copy of the variables, with its own random state seeded for the masks.
	local := model.NewStore()
	if _, err := trainutil.CopyVariables(store, local, func(v *model.Variable) bool { return v.Name() != model.RNGStateVariableName }); err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	decoderScope := "/ssl/" + mae.Name()
	decoder := 0
	for v := range local.IterVariables() {
		if trainutil.UnderScope(v, decoderScope) {
			decoder++
		}
	}
	if decoder == 0 {
		return nil, fmt.Errorf("explain: the store has no MAE decoder (no variables under %s): pass the pretraining's store (ssl.Pretrained.Store), not an encoder checkpoint", decoderScope)
	}
	if err := local.SetRNGStateFromSeed(seed); err != nil {
		return nil, err
	}
	n := local.NumVariables()
	exec, err := model.NewExec(backend, local, func(scope *model.Scope, x *Node) []*Node {
		pred, _, masked := mae.Reconstruct(scope, vit, x)
		return []*Node{pred, masked}
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	p := vit.PatchSize
	h, w, c := images.Height, images.Width, images.Channels
	if h%p != 0 || w%p != 0 {
		return nil, fmt.Errorf("explain: %d×%d images are not a multiple of the patch size %d", h, w, p)
	}
	gw, np, pp := w/p, (h/p)*(w/p), p*p*c
	for start := 0; start < images.N; start += batchSize {
		idx := indices(start, min(start+batchSize, images.N))
		orig := images.ImagesFloat32(idx)
		res, err := exec.Call(tensors.FromFlatDataAndDimensions(orig, len(idx), h, w, c))
		if err != nil {
			return nil, err
		}
		if local.NumVariables() != n {
			return nil, fmt.Errorf("explain: the MAE built variables the store does not have: its decoder is not the pretraining's (%d variables, now %d)", n, local.NumVariables())
		}
		out, err := flatten(res)
		if err != nil {
			return nil, err
		}
		pred, masked := out[0], out[1]
		for b := range idx {
			img := orig[b*h*w*c : (b+1)*h*w*c]
			rec := Reconstruction{Height: h, Width: w, Channels: c, PatchSize: p, Hidden: make([]bool, np),
				Original: img, Masked: make([]float32, len(img)), Reconstructed: make([]float32, len(img))}
			copy(rec.Masked, img)
			copy(rec.Reconstructed, img)
			if mae.NormPixLoss {
				rec.Pattern = slices.Clone(img)
			}
			for patch := range np {
				if masked[b*np+patch] < 0.5 {
					continue
				}
				rec.Hidden[patch] = true
				// The patch's pixels, in Patchify's (row, column, channel) order.
				at := func(o int) int {
					i, j, ch := (patch/gw)*p+o/(p*c), (patch%gw)*p+(o/c)%p, o%c
					return (i*w+j)*c + ch
				}
				guess := pred[(b*np+patch)*pp : (b*np+patch+1)*pp]
				mean, std := 0.0, 1.0
				if mae.NormPixLoss {
					mean, std = patchStats(img, at, pp)
				}
				for o := range pp {
					rec.Masked[at(o)] = MaskedGray
					rec.Reconstructed[at(o)] = float32(min(1, max(0, float64(guess[o])*std+mean)))
					if rec.Pattern != nil {
						rec.Pattern[at(o)] = float32(min(1, max(0, 0.5+float64(guess[o])/4)))
					}
				}
			}
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// patchStats returns a patch's mean and √(unbiased variance + 1e-6), the statistics
// ssl.MAELoss normalises its targets with.
func patchStats(img []float32, at func(int) int, n int) (mean, std float64) {
	for o := range n {
		mean += float64(img[at(o)])
	}
	mean /= float64(n)
	var ss float64
	for o := range n {
		d := float64(img[at(o)]) - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss/float64(n-1) + 1e-6)
}
