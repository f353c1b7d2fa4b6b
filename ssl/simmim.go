package ssl

import (
	"math"

	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
)

// SimMIM is masked image modelling (Xie et al., CVPR 2022) for any dense encoder, CNNs
// included: a random MaskRatio of the image's MaskPatch×MaskPatch patches is hidden, the
// encoder sees the image with the hidden pixels replaced by a learned mask value, and a
// one-layer prediction head on its coarsest feature map predicts the raw pixels; the loss
// is the L1 distance on the hidden pixels only.
//
// As in the paper: the number of hidden patches is fixed, ⌈N·MaskRatio⌉ of the N patches
// of each image, drawn in the graph from the scope's random state; the head is a 1×1
// convolution from the coarsest map (stride s) to s²·C values per position, rearranged
// into the s×s pixels under it (pixel shuffle); the loss is
//
//	Σ |pred − x|·mask / (Σ mask + 1e−5) / C
//
// over pixels and channels, mask 1 on hidden pixels. The paper masks at the ViT's
// patch-embedding level with a learned token; a convolutional encoder has no tokens, so
// the mask value is learned per input channel and put in the pixels (for a ViT whose
// patches tile the mask patches this is a mask token constrained to what the patch
// embedding makes of a constant patch). The defaults are the paper's ratio 0.6 and its
// mask patch of a sixth of the image side (32 px at 192 px) scaled to small medical
// slices: 8 px. Image sides must be multiples of MaskPatch and of the encoder's stride.
//
// Variables: the encoder's under models.EncoderScope; mask_value and head/{weights,
// biases} under MethodScope ("ssl/simmim").
type SimMIM struct {
	MaskPatch int
	MaskRatio float64
}

// NewSimMIM returns SimMIM with mask patches of 8 px and a mask ratio of 0.6.
func NewSimMIM() *SimMIM { return &SimMIM{MaskPatch: 8, MaskRatio: 0.6} }

// Name implements Method.
func (m *SimMIM) Name() string { return "simmim" }

// Views implements Method: one view, which the method masks itself.
func (m *SimMIM) Views() int { return 1 }

// Loss implements Method.
func (m *SimMIM) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	pred, target, mask := m.Reconstruct(scope, enc, views[0])
	return SimMIMLoss(pred, target, mask)
}

// SimMIMLoss is SimMIM's loss: the L1 distance between pred and target [B, H, W, C] over
// the pixels where mask [B, H, W, 1] is 1, divided by the number of such pixels (plus
// 1e−5) and by C.
func SimMIMLoss(pred, target, mask *graph.Node) *graph.Node {
	c := float64(target.Shape().Dimensions[3])
	l1 := graph.ReduceAllSum(graph.Mul(graph.Abs(graph.Sub(pred, target)), mask))
	return graph.DivScalar(graph.Div(l1, graph.AddScalar(graph.ReduceAllSum(mask), 1e-5)), c)
}

// Reconstruct masks images [B, H, W, C] (see SimMIM), encodes them and predicts the
// pixels: it returns the prediction and the target (the images), [B, H, W, C], and the
// pixel mask [B, H, W, 1] (1 on hidden pixels).
func (m *SimMIM) Reconstruct(scope *model.Scope, enc models.Encoder, images *graph.Node) (pred, target, mask *graph.Node) {
	dense := denseOf(enc, "simmim")
	if !(m.MaskRatio > 0 && m.MaskRatio < 1) || m.MaskPatch < 1 {
		exceptions.Panicf("ssl: simmim mask ratio %g and patch %d: want a ratio in (0, 1) and a patch >= 1", m.MaskRatio, m.MaskPatch)
	}
	g := images.Graph()
	dt := images.DType()
	d := images.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	p := m.MaskPatch
	if h%p != 0 || w%p != 0 {
		exceptions.Panicf("ssl: simmim: image %dx%d is not a multiple of the mask patch %d", h, w, p)
	}
	n := (h / p) * (w / p)
	hidden := int(math.Ceil(float64(n) * m.MaskRatio))
	if hidden >= n {
		exceptions.Panicf("ssl: simmim mask ratio %g hides all %d patches", m.MaskRatio, n)
	}
	ms := MethodScope(scope, m)
	_, patchMask := RandomPatchMask(ms, g, b, n, n-hidden, dt) // [B, n], 1 hidden
	mask = PatchMaskPixels(patchMask, h, w, p)
	token := ms.WithInitializer(initializer.Zero).VariableWithShape("mask_value", shapes.Make(dt, c)).NodeValue(g)
	masked := graph.Add(graph.Mul(images, graph.OneMinus(mask)), graph.Mul(mask, graph.Reshape(token, 1, 1, 1, c)))
	maps := dense.FeatureMaps(EncoderScope(scope), masked)
	z := maps[len(maps)-1]
	s := h / z.Shape().Dimensions[1]
	if z.Shape().Dimensions[1]*s != h || z.Shape().Dimensions[2]*s != w {
		exceptions.Panicf("ssl: simmim: the coarsest feature map %s does not tile a %dx%d image", z.Shape(), h, w)
	}
	pred = PixelShuffle(models.Linear(ms.In("head"), z, s*s*c, activation.TypeNone), s)
	return pred, images, mask
}

// PatchMaskPixels spreads a patch mask [B, N] (N patches of p×p pixels in row-major order
// of the (H/p)×(W/p) grid) over the pixels: [B, H, W, 1].
func PatchMaskPixels(patchMask *graph.Node, h, w, p int) *graph.Node {
	b := patchMask.Shape().Dimensions[0]
	grid := graph.Reshape(patchMask, b, h/p, w/p, 1)
	return models.UpsampleNearest(grid, p)
}

// PixelShuffle rearranges x [B, h, w, s·s·C] into [B, h·s, w·s, C]: the s·s·C values at a
// position, in (row, column, channel) order, become the s×s pixels under it (PyTorch's
// nn.PixelShuffle, channels-last).
func PixelShuffle(x *graph.Node, s int) *graph.Node {
	d := x.Shape().Dimensions
	b, h, w := d[0], d[1], d[2]
	c := d[3] / (s * s)
	if c*s*s != d[3] {
		exceptions.Panicf("ssl: PixelShuffle: %d channels is not a multiple of %d²", d[3], s)
	}
	y := graph.Reshape(x, b, h, w, s, s, c)
	y = graph.TransposeAllAxes(y, 0, 1, 3, 2, 4, 5) // [B, h, s, w, s, C]
	return graph.Reshape(y, b, h*s, w*s, c)
}

func init() { Register("simmim", func() Method { return NewSimMIM() }) }
