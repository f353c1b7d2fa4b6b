package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
)

// MAE is masked autoencoding (He et al., CVPR 2022): a random MaskRatio of each image's
// patches is hidden, the ViT encoder sees only the visible ones (plus its class token), and
// a lightweight transformer decoder, given the encoded visible tokens and a learned mask
// token at every hidden position, predicts the pixels of the hidden patches. The loss is
// the mean squared error over masked patches only. It needs a models.ViTConfig encoder.
//
// Defaults (NewMAE): mask ratio 0.75 and per-patch normalised targets (NormPixLoss), as in
// the paper. The paper's decoder (width 512, depth 8, 16 heads) is sized for 224 px
// ImageNet; for small medical images (e.g. 28 px, 49 patches) the default is scaled down to
// width 128, depth 2, 4 heads, MLP ratio 4, with MAE's fixed 2D sine-cosine position
// embeddings. The mask is drawn in the graph from the scope's random state: per image,
// uniform noise per patch, and the patches with the lowest noise stay visible.
//
// Variables: the encoder's under models.EncoderScope; decoder_embed, mask_token,
// decoder/block<i>, decoder/norm and decoder_pred under MethodScope ("ssl/mae").
type MAE struct {
	// MaskRatio is the fraction of patches hidden; ⌊N·(1−MaskRatio)⌋ patches stay visible.
	MaskRatio float64
	// NormPixLoss normalises each target patch by its own mean and (unbiased) standard
	// deviation, (t − mean)/√(var + 1e−6), as the paper's best setting.
	NormPixLoss bool
	// DecoderWidth, DecoderDepth and DecoderHeads size the decoder transformer; its MLP
	// has DecoderMLPRatio·DecoderWidth hidden units (0: 4).
	DecoderWidth, DecoderDepth, DecoderHeads int
	DecoderMLPRatio                          float64
}

// NewMAE returns MAE with the defaults documented on MAE.
func NewMAE() *MAE {
	return &MAE{MaskRatio: 0.75, NormPixLoss: true, DecoderWidth: 128, DecoderDepth: 2, DecoderHeads: 4, DecoderMLPRatio: 4}
}

// Name implements Method.
func (m *MAE) Name() string { return "mae" }

// Views implements Method: MAE reconstructs one view of each image.
func (m *MAE) Views() int { return 1 }

// vitOf returns the ViT configuration of enc, panicking (Pretrain turns it into an error)
// for any other encoder.
func vitOf(enc models.Encoder) models.ViTConfig {
	switch v := enc.(type) {
	case models.ViTConfig:
		return v
	case *models.ViTConfig:
		return *v
	}
	exceptions.Panicf("ssl: MAE needs a ViT encoder (models.ViTConfig, e.g. models.ViTTiny(4)), got %s (%T)", enc.Name(), enc)
	return models.ViTConfig{}
}

// decoder returns the decoder's configuration.
func (m *MAE) decoder(patch int) models.ViTConfig {
	return models.ViTConfig{PatchSize: patch, Width: m.DecoderWidth, Depth: m.DecoderDepth, Heads: m.DecoderHeads,
		MLPRatio: m.DecoderMLPRatio, PosEmbedding: models.PosSinCos}
}

// Loss implements Method.
func (m *MAE) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	pred, target, masked := m.Reconstruct(scope, enc, views[0])
	return MAELoss(pred, target, masked, m.NormPixLoss)
}

// Reconstruct runs MAE on images [B, H, W, C] and returns the decoder's predictions and the
// targets (models.Patchify of the images), both [B, N, p·p·C], and the mask [B, N] (1 for
// hidden patches, 0 for visible ones).
func (m *MAE) Reconstruct(scope *model.Scope, enc models.Encoder, images *graph.Node) (pred, target, masked *graph.Node) {
	vit := vitOf(enc)
	if !(m.MaskRatio > 0 && m.MaskRatio < 1) {
		exceptions.Panicf("ssl: MAE mask ratio must be in (0, 1), got %g", m.MaskRatio)
	}
	dec := m.decoder(vit.PatchSize)
	if err := dec.Validate(); err != nil {
		exceptions.Panicf("ssl: MAE decoder: %v", err)
	}
	g := images.Graph()
	encScope := EncoderScope(scope)
	tokens := vit.EmbedPatches(encScope, images) // [B, N, D]
	dims := tokens.Shape().Dimensions
	b, n := dims[0], dims[1]
	keep := int(float64(n) * (1 - m.MaskRatio))
	if keep < 1 {
		exceptions.Panicf("ssl: MAE mask ratio %g leaves no visible patch of %d", m.MaskRatio, n)
	}
	ms := MethodScope(scope, m)
	sel, masked := RandomPatchMask(ms, g, b, n, keep, tokens.DType())

	// Encoder on the visible patches only.
	latent := vit.Transform(encScope, graph.Einsum("bkn,bnd->bkd", sel, tokens)) // [B, 1+keep, D]

	// Decoder: visible tokens back in place, the mask token elsewhere, positions added.
	x := models.Linear(ms.In("decoder_embed"), latent, dec.Width, activation.TypeNone)
	cls := graph.SliceAxis(x, 1, graph.AxisRange(0, 1))
	vis := graph.SliceAxis(x, 1, graph.AxisRange(1))
	mask := ms.WithInitializer(initializer.RandomNormalFn(ms, 0.02)).
		VariableWithShape("mask_token", shapes.Make(x.DType(), dec.Width)).NodeValue(g)
	full := graph.Add(graph.Einsum("bkn,bkd->bnd", sel, vis),
		graph.Mul(graph.InsertAxes(masked, -1), graph.ExpandLeftToRank(mask, 3)))
	gh, gw := images.Shape().Dimensions[1]/vit.PatchSize, images.Shape().Dimensions[2]/vit.PatchSize
	pos := graph.ConvertDType(graph.Const(g, models.SinCosPositions(gh, gw, dec.Width)), x.DType())
	full = graph.Add(full, graph.ExpandLeftToRank(pos, 3))
	out := dec.Blocks(ms.In("decoder"), graph.Concatenate([]*graph.Node{cls, full}, 1))
	out = graph.SliceAxis(out, 1, graph.AxisRange(1))
	target = models.Patchify(images, vit.PatchSize)
	pred = models.Linear(ms.In("decoder_pred"), out, target.Shape().Dimensions[2], activation.TypeNone)
	return pred, target, masked
}

// RandomPatchMask draws, per image, which keep of n patches stay visible: uniform noise per
// patch from scope's random state, the keep lowest visible (MAE's random_masking). It
// returns the selection sel [B, keep, n] (one-hot rows: sel·tokens gathers the visible
// tokens, selᵀ scatters them back) and the mask [B, n] (1 hidden, 0 visible) of dtype dt.
func RandomPatchMask(scope *model.Scope, g *graph.Graph, b, n, keep int, dt dtypes.DType) (sel, masked *graph.Node) {
	noise := scope.RandomUniform(g, shapes.Make(dt, b, n))
	_, idx := graph.BottomK(noise, keep, 1) // [B, keep]
	sel = graph.OneHot(idx, n, dt)
	masked = graph.OneMinus(graph.ReduceSum(sel, 1))
	return sel, masked
}

// MAELoss is MAE's reconstruction loss: pred and target [B, N, P] (patches of P values),
// masked [B, N] (1 for hidden patches). With normPix each target patch is first normalised,
// (t − mean)/√(var + 1e−6) with the unbiased variance over its P values (as the paper's
// code, torch.var). The loss is Σ_{b,n} masked·mean_P((pred − t)²) / Σ masked: visible
// patches do not count.
func MAELoss(pred, target, masked *graph.Node, normPix bool) *graph.Node {
	if normPix {
		p := target.Shape().Dimensions[target.Rank()-1]
		if p < 2 {
			exceptions.Panicf("ssl: MAE normalised pixel loss needs patches of at least 2 values, got %d", p)
		}
		mean := graph.ReduceAndKeep(target, graph.ReduceMean, -1)
		centred := graph.Sub(target, mean)
		variance := graph.DivScalar(graph.ReduceAndKeep(graph.Square(centred), graph.ReduceSum, -1), float64(p-1))
		target = graph.Div(centred, graph.Sqrt(graph.AddScalar(variance, 1e-6)))
	}
	perPatch := graph.ReduceMean(graph.Square(graph.Sub(pred, target)), -1) // [B, N]
	return graph.Div(graph.ReduceAllSum(graph.Mul(perPatch, masked)), graph.ReduceAllSum(masked))
}

func init() { Register("mae", func() Method { return NewMAE() }) }
