package models

import (
	"fmt"
	"regexp"
	"strconv"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// PosEmbedding selects a ViT's position embeddings.
type PosEmbedding int

const (
	// PosLearned are trained embeddings, one per patch of the grid the encoder is
	// first built for (plus one for the class token), normal(0, 0.02) at start. On another
	// grid they are resized bilinearly (timm and DINO resize them too, bicubically).
	PosLearned PosEmbedding = iota
	// PosSinCos is MAE's fixed 2D sine-cosine embeddings (see SinCosPositions),
	// recomputed for every grid; the class token gets none.
	PosSinCos
)

// String implements fmt.Stringer.
func (p PosEmbedding) String() string {
	switch p {
	case PosLearned:
		return "learned"
	case PosSinCos:
		return "sin-cos"
	}
	return fmt.Sprintf("PosEmbedding(%d)", int(p))
}

// DefaultViTLayerNormEpsilon is PyTorch's nn.LayerNorm default (the peer benchmark's).
const DefaultViTLayerNormEpsilon = 1e-5

// ViTConfig is a Vision Transformer encoder (Dosovitskiy et al. 2021) as a value: it
// implements Encoder. Images are cut into PatchSize×PatchSize patches, embedded linearly
// (a convolution with kernel = stride = patch), a class token is prepended, position
// embeddings added, and Depth pre-norm blocks run:
//
//	x = x + Attention(LayerNorm(x));  x = x + MLP(LayerNorm(x))   (MLP: Linear-GELU-Linear)
//
// followed by a final LayerNorm. Features are the class token's, [B, Width]. Any image
// whose sides are multiples of PatchSize works, also at another size than the first one
// (learned position embeddings are resized).
//
// Variables (under the scope given to Encode): patch_embed/{weights,biases}, class_token,
// position_embedding [gh, gw, Width] and class_position_embedding (learned positions only),
// block<i>/{norm1, attention/{qkv,out}, norm2, mlp/{fc1,fc2}}, norm. Linear layers are
// Xavier-uniform with zero biases, as in MAE.
type ViTConfig struct {
	PatchSize, Width, Depth, Heads int
	// MLPRatio is the MLP's hidden width over Width; 0 means 4.
	MLPRatio float64
	// PosEmbedding is PosLearned (default) or PosSinCos.
	PosEmbedding PosEmbedding
	// LayerNormEpsilon; 0 means DefaultViTLayerNormEpsilon.
	LayerNormEpsilon float64
}

// ViTTiny is ViT-Ti (width 192, depth 12, 3 heads, MLP 768) with the given patch size.
func ViTTiny(patch int) ViTConfig {
	return ViTConfig{PatchSize: patch, Width: 192, Depth: 12, Heads: 3, MLPRatio: 4}
}

// ViTSmall is ViT-S (width 384, depth 12, 6 heads, MLP 1536) with the given patch size.
func ViTSmall(patch int) ViTConfig {
	return ViTConfig{PatchSize: patch, Width: 384, Depth: 12, Heads: 6, MLPRatio: 4}
}

// Validate returns an error for a configuration Encode cannot build.
func (c ViTConfig) Validate() error {
	switch {
	case c.PatchSize <= 0:
		return fmt.Errorf("models: ViT patch size must be positive, got %d", c.PatchSize)
	case c.Width <= 0 || c.Depth <= 0 || c.Heads <= 0:
		return fmt.Errorf("models: ViT width, depth and heads must be positive, got %d, %d, %d", c.Width, c.Depth, c.Heads)
	case c.Width%c.Heads != 0:
		return fmt.Errorf("models: ViT width %d is not divisible by %d heads", c.Width, c.Heads)
	case c.MLPRatio < 0 || c.LayerNormEpsilon < 0:
		return fmt.Errorf("models: ViT MLP ratio %g and layer-norm epsilon %g must not be negative", c.MLPRatio, c.LayerNormEpsilon)
	case c.PosEmbedding != PosLearned && c.PosEmbedding != PosSinCos:
		return fmt.Errorf("models: unknown ViT position embedding %v", c.PosEmbedding)
	case c.PosEmbedding == PosSinCos && c.Width%4 != 0:
		return fmt.Errorf("models: ViT sin-cos position embeddings need a width divisible by 4, got %d", c.Width)
	}
	return nil
}

func (c ViTConfig) mlpHidden() int {
	if c.MLPRatio == 0 {
		return 4 * c.Width
	}
	return int(c.MLPRatio*float64(c.Width) + 0.5)
}

func (c ViTConfig) epsilon() float64 {
	if c.LayerNormEpsilon == 0 {
		return DefaultViTLayerNormEpsilon
	}
	return c.LayerNormEpsilon
}

// Name implements Encoder: "vit-tiny/4", "vit-small/16", or "vit-w<W>-d<D>-h<H>/<patch>"
// for other sizes; "-sincos" is appended for fixed position embeddings and "-mlp<hidden>"
// for a non-standard MLP width.
func (c ViTConfig) Name() string {
	var name string
	switch {
	case c.Width == 192 && c.Depth == 12 && c.Heads == 3:
		name = "vit-tiny"
	case c.Width == 384 && c.Depth == 12 && c.Heads == 6:
		name = "vit-small"
	default:
		name = fmt.Sprintf("vit-w%d-d%d-h%d", c.Width, c.Depth, c.Heads)
	}
	if c.mlpHidden() != 4*c.Width {
		name += fmt.Sprintf("-mlp%d", c.mlpHidden())
	}
	if c.PosEmbedding == PosSinCos {
		name += "-sincos"
	}
	return fmt.Sprintf("%s/%d", name, c.PatchSize)
}

// FeatureDim implements Encoder: Width.
func (c ViTConfig) FeatureDim() int { return c.Width }

// Encode implements Encoder: the class token's features [B, Width] after the final norm.
func (c ViTConfig) Encode(scope *model.Scope, images *Node) *Node {
	out := c.Tokens(scope, images)
	return Reshape(SliceAxis(out, 1, AxisElem(0)), out.Shape().Dimensions[0], c.Width)
}

// Tokens returns every output token [B, 1+N, Width] after the final norm: the class token
// first, then the N patch tokens in row-major order of the (H/PatchSize)×(W/PatchSize)
// grid, for decoders of dense predictions. The variables are Encode's.
func (c ViTConfig) Tokens(scope *model.Scope, images *Node) *Node {
	return c.Transform(scope, c.EmbedPatches(scope, images))
}

// TokensAndAttention is Tokens (the same variables and values) that also returns every
// block's attention probabilities, [B, Heads, 1+N, 1+N] each (query rows, key columns, the
// class token first), for explanations such as attention rollout. It runs the plain
// attention ops instead of the fused kernel: use Encode or Tokens when the maps are not needed.
func (c ViTConfig) TokensAndAttention(scope *model.Scope, images *Node) (tokens *Node, attention []*Node) {
	return c.transform(scope, c.EmbedPatches(scope, images), true)
}

func (c ViTConfig) mustValidate() {
	if err := c.Validate(); err != nil {
		exceptions.Panicf("%v", err)
	}
}

// EmbedPatches returns the patch tokens of images [B, H, W, C] with their position
// embeddings added, [B, N, Width] (N patches in row-major order, as Patchify). MAE selects
// the visible ones among them before Transform.
func (c ViTConfig) EmbedPatches(scope *model.Scope, images *Node) *Node {
	c.mustValidate()
	if images.Rank() != 4 {
		exceptions.Panicf("models.ViT: images must be [B, H, W, C], got %s", images.Shape())
	}
	dims := images.Shape().Dimensions
	p := c.PatchSize
	if dims[1]%p != 0 || dims[2]%p != 0 {
		exceptions.Panicf("models.ViT: image %dx%d is not a multiple of patch size %d", dims[1], dims[2], p)
	}
	scope = scope.ResetVisited()
	x := dense(scope.In("patch_embed"), Patchify(images, p), c.Width, activation.TypeNone)
	pos := c.patchPositions(scope, images.Graph(), dims[1]/p, dims[2]/p, x)
	return Add(x, ExpandLeftToRank(pos, 3))
}

// patchPositions returns the position embeddings of a gh×gw grid, [gh·gw, Width].
func (c ViTConfig) patchPositions(scope *model.Scope, g *Graph, gh, gw int, like *Node) *Node {
	if c.PosEmbedding == PosSinCos {
		return ConvertDType(sinCosNode(g, gh, gw, c.Width), like.DType())
	}
	const name = "position_embedding"
	// The grid of the first build fixes the variable's shape; other grids resize it.
	shape := shapeOf(like, gh, gw, c.Width)
	if v := scope.GetVariable(name); v != nil {
		shape = v.Shape()
	}
	grid := scope.WithInitializer(initializer.RandomNormalFn(scope, 0.02)).VariableWithShape(name, shape).NodeValue(g)
	return Reshape(resizeGrid(grid, gh, gw), gh*gw, c.Width)
}

// Transform prepends the class token (with its position embedding) to tokens
// [B, N', Width] and runs the blocks and the final norm: [B, 1+N', Width].
func (c ViTConfig) Transform(scope *model.Scope, tokens *Node) *Node {
	out, _ := c.transform(scope, tokens, false)
	return out
}

// transform is Transform, with every block's attention probabilities when withProbs.
func (c ViTConfig) transform(scope *model.Scope, tokens *Node, withProbs bool) (*Node, []*Node) {
	c.mustValidate()
	if tokens.Rank() != 3 || tokens.Shape().Dimensions[2] != c.Width {
		exceptions.Panicf("models.ViT: tokens must be [B, N, %d], got %s", c.Width, tokens.Shape())
	}
	scope = scope.ResetVisited()
	g := tokens.Graph()
	normal := scope.WithInitializer(initializer.RandomNormalFn(scope, 0.02))
	cls := normal.VariableWithShape("class_token", shapeOf(tokens, c.Width)).NodeValue(g)
	if c.PosEmbedding == PosLearned {
		cls = Add(cls, normal.VariableWithShape("class_position_embedding", shapeOf(tokens, c.Width)).NodeValue(g))
	}
	b := tokens.Shape().Dimensions[0]
	cls = BroadcastToDims(Reshape(cls, 1, 1, c.Width), b, 1, c.Width)
	return c.blocks(scope, Concatenate([]*Node{cls, tokens}, 1), withProbs)
}

// Blocks runs the Depth transformer blocks and the final norm on any token sequence
// [B, T, Width] (no class token is added): MAE's decoder is Blocks of a narrower ViTConfig.
func (c ViTConfig) Blocks(scope *model.Scope, x *Node) *Node {
	out, _ := c.blocks(scope, x, false)
	return out
}

// blocks is Blocks, with every block's attention probabilities when withProbs.
func (c ViTConfig) blocks(scope *model.Scope, x *Node, withProbs bool) (*Node, []*Node) {
	c.mustValidate()
	scope = scope.ResetVisited()
	eps := c.epsilon()
	var probs []*Node
	for i := range c.Depth {
		s := scope.In("block%d", i)
		att, p := selfAttention(s.In("attention"), LayerNorm(s.In("norm1"), x, eps), c.Heads, withProbs)
		if withProbs {
			probs = append(probs, p)
		}
		x = Add(x, att)
		h := dense(s.In("mlp").In("fc1"), LayerNorm(s.In("norm2"), x, eps), c.mlpHidden(), activation.TypeGelu)
		x = Add(x, dense(s.Shared("mlp").In("fc2"), h, c.Width, activation.TypeNone))
	}
	return LayerNorm(scope.In("norm"), x, eps), probs
}

var vitName = regexp.MustCompile(`^vit-(tiny|small|w(\d+)-d(\d+)-h(\d+))(?:-mlp(\d+))?(-sincos)?/(\d+)$`)

// parseViTName inverts ViTConfig.Name; ok is false when name is not a ViT name at all.
func parseViTName(name string) (enc Encoder, ok bool, err error) {
	m := vitName.FindStringSubmatch(name)
	if m == nil {
		return nil, false, nil
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	patch := atoi(m[7])
	var cfg ViTConfig
	switch m[1] {
	case "tiny":
		cfg = ViTTiny(patch)
	case "small":
		cfg = ViTSmall(patch)
	default:
		cfg = ViTConfig{PatchSize: patch, Width: atoi(m[2]), Depth: atoi(m[3]), Heads: atoi(m[4]), MLPRatio: 4}
	}
	if m[5] != "" && cfg.Width > 0 {
		cfg.MLPRatio = float64(atoi(m[5])) / float64(cfg.Width)
	}
	if m[6] != "" {
		cfg.PosEmbedding = PosSinCos
	}
	if err := cfg.Validate(); err != nil {
		return nil, true, err
	}
	if cfg.Name() != name {
		return nil, true, fmt.Errorf("models: encoder name %q does not round-trip (got %q)", name, cfg.Name())
	}
	return cfg, true, nil
}
