package models

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Stem selects the first layers of a ResNet, before its four stages.
type Stem int

const (
	// StemAuto picks SmallImageStem for images of at most SmallImageMaxSize pixels a side,
	// StandardStem otherwise, when the encoder is built.
	StemAuto Stem = iota
	// SmallImageStem is conv 3×3 stride 1 with 64 channels, BN, ReLU and no max-pool (the
	// CIFAR variant used by SimCLR for small images): a 28 px image reaches the first stage
	// at 28×28.
	SmallImageStem
	// StandardStem is ImageNet's conv 7×7 stride 2 with 64 channels, BN, ReLU and a 3×3
	// stride-2 max-pool: a 224 px image reaches the first stage at 56×56.
	StandardStem
)

// SmallImageMaxSize is the largest image side for which StemAuto picks SmallImageStem.
const SmallImageMaxSize = 64

// String implements fmt.Stringer.
func (s Stem) String() string {
	switch s {
	case StemAuto:
		return "auto"
	case SmallImageStem:
		return "small"
	case StandardStem:
		return "standard"
	}
	return fmt.Sprintf("Stem(%d)", int(s))
}

// ResNetConfig is a ResNet encoder (He et al. 2016, torchvision's layout: stride on the 3×3
// convolution of bottleneck blocks) as a value: it implements Encoder. Depth 18 and 34 use
// basic blocks, 50 bottleneck blocks; stage widths are 64-128-256-512 (×4 outputs for 50).
// Its features are the global average pool of the last stage: 512 for 18/34, 2048 for 50.
type ResNetConfig struct {
	Depth int
	Stem  Stem
	// BaseWidth is the stem's and the first stage's width, doubled at every stage; 0 means
	// the standard 64. Narrower encoders (e.g. 16 or 32) train much faster on small data.
	BaseWidth int
}

// Width returns a copy of the configuration with the given base width (standard: 64).
func (c ResNetConfig) Width(baseWidth int) ResNetConfig {
	c.BaseWidth = baseWidth
	return c
}

func (c ResNetConfig) baseWidth() int {
	if c.BaseWidth == 0 {
		return 64
	}
	return c.BaseWidth
}

// ResNet18 returns the ResNet-18 encoder with the stem chosen from the image size.
func ResNet18() ResNetConfig { return ResNetConfig{Depth: 18} }

// ResNet34 returns the ResNet-34 encoder with the stem chosen from the image size.
func ResNet34() ResNetConfig { return ResNetConfig{Depth: 34} }

// ResNet50 returns the ResNet-50 encoder with the stem chosen from the image size.
func ResNet50() ResNetConfig { return ResNetConfig{Depth: 50} }

// ResNetFor returns the ResNet of the given depth (18, 34 or 50) with the stem suited to
// square images of imageSize pixels: SmallImageStem up to SmallImageMaxSize, StandardStem
// above. Check an unusual depth with Validate; Encode panics on it.
func ResNetFor(depth, imageSize int) ResNetConfig {
	return ResNetConfig{Depth: depth, Stem: stemFor(imageSize)}
}

// Validate returns an error if the depth or stem is not supported.
func (c ResNetConfig) Validate() error {
	if _, ok := resNetStages[c.Depth]; !ok {
		return fmt.Errorf("models: ResNet depth %d not supported (want 18, 34 or 50)", c.Depth)
	}
	if c.BaseWidth < 0 {
		return fmt.Errorf("models: ResNet base width must be positive, got %d", c.BaseWidth)
	}
	if c.Stem < StemAuto || c.Stem > StandardStem {
		return fmt.Errorf("models: unknown ResNet stem %v", c.Stem)
	}
	return nil
}

func stemFor(imageSize int) Stem {
	if imageSize <= SmallImageMaxSize {
		return SmallImageStem
	}
	return StandardStem
}

// resNetStages gives the blocks per stage and whether blocks are bottlenecks.
var resNetStages = map[int]struct {
	blocks     [4]int
	bottleneck bool
}{
	18: {[4]int{2, 2, 2, 2}, false},
	34: {[4]int{3, 4, 6, 3}, false},
	50: {[4]int{3, 4, 6, 3}, true},
}

// Name implements Encoder: "resnet18", "resnet34" or "resnet50", with "-w<width>" appended
// for a non-standard base width and "-small" or "-standard" for a stem fixed in advance
// (StemAuto, which picks the stem from the image size, adds nothing). ParseEncoder reads
// every such name back.
func (c ResNetConfig) Name() string {
	name := fmt.Sprintf("resnet%d", c.Depth)
	if c.baseWidth() != 64 {
		name += fmt.Sprintf("-w%d", c.baseWidth())
	}
	if c.Stem != StemAuto {
		name += "-" + c.Stem.String()
	}
	return name
}

// FeatureDim implements Encoder: 512 for depths 18 and 34, 2048 for 50 (at base width 64;
// 8× and 32× the base width in general).
func (c ResNetConfig) FeatureDim() int {
	if resNetStages[c.Depth].bottleneck {
		return 32 * c.baseWidth()
	}
	return 8 * c.baseWidth()
}

// Encode implements Encoder: it builds the ResNet on images [B, H, W, C] (any C) and
// returns the features [B, FeatureDim()].
func (c ResNetConfig) Encode(scope *model.Scope, images *Node) *Node {
	return ResNet(scope, images).Depth(c.Depth).Stem(c.Stem).Width(c.BaseWidth).Done()
}

// Stages returns the encoder's feature maps (see ResNetBuilder.Stages): the stem's and the
// four stages' outputs.
func (c ResNetConfig) Stages(scope *model.Scope, images *Node) []*Node {
	return ResNet(scope, images).Depth(c.Depth).Stem(c.Stem).Width(c.BaseWidth).Stages()
}

// ResNetBuilder builds a ResNet in GoMLX's builder style:
//
//	features := models.ResNet(scope, x).Depth(18).SmallImageStem().Done()
type ResNetBuilder struct {
	scope *model.Scope
	x     *Node
	cfg   ResNetConfig
}

// ResNet starts a ResNet on images x [B, H, W, C]; the default is depth 18 with StemAuto.
func ResNet(scope *model.Scope, x *Node) *ResNetBuilder {
	return &ResNetBuilder{scope: scope, x: x, cfg: ResNet18()}
}

// Depth sets 18, 34 or 50.
func (r *ResNetBuilder) Depth(depth int) *ResNetBuilder {
	r.cfg.Depth = depth
	return r
}

// Width sets the base width (0 or 64: standard).
func (r *ResNetBuilder) Width(baseWidth int) *ResNetBuilder {
	r.cfg.BaseWidth = baseWidth
	return r
}

// Stem sets the stem.
func (r *ResNetBuilder) Stem(stem Stem) *ResNetBuilder {
	r.cfg.Stem = stem
	return r
}

// SmallImageStem selects the small-image stem (3×3 stride 1, no max-pool).
func (r *ResNetBuilder) SmallImageStem() *ResNetBuilder { return r.Stem(SmallImageStem) }

// StandardStem selects the ImageNet stem (7×7 stride 2 and a 3×3 stride-2 max-pool).
func (r *ResNetBuilder) StandardStem() *ResNetBuilder { return r.Stem(StandardStem) }

// Done builds the encoder and returns the features [B, FeatureDim()]: the global average
// pool of the last stage.
func (r *ResNetBuilder) Done() *Node {
	stages := r.stageParts()
	last := stages[len(stages)-1]
	pooled := make([]*Node, len(last))
	for i, x := range last {
		pooled[i] = ReduceMean(x, 1, 2)
	}
	return joinParts(pooled)
}

// Stages builds the encoder and returns its feature maps before pooling, [B, H', W', C']
// each: the stem's output (at the image's resolution with the small-image stem, a quarter
// of it with the standard one) and the output of each of the four stages (each halving the
// resolution of the one before, except stage 1). Decoders for dense prediction (a U-Net's
// skip connections) and explanations (Grad-CAM on the last stage) read them. The variables
// are those of Done: an encoder trained through one is loaded by the other.
func (r *ResNetBuilder) Stages() []*Node {
	parts := r.stageParts()
	maps := make([]*Node, len(parts))
	for i, p := range parts {
		maps[i] = joinParts(p)
	}
	return maps
}

// stageParts builds the encoder on the parts of the batch (batchParts) and returns every
// feature map of Stages in those parts.
func (r *ResNetBuilder) stageParts() [][]*Node {
	x := r.x
	if x.Rank() != 4 {
		exceptions.Panicf("models.ResNet: images must be [B, H, W, C], got %s", x.Shape())
	}
	stages, ok := resNetStages[r.cfg.Depth]
	if !ok {
		exceptions.Panicf("models.ResNet: depth %d not supported (want 18, 34 or 50)", r.cfg.Depth)
	}
	if err := r.cfg.Validate(); err != nil {
		exceptions.Panicf("%v", err)
	}
	base := r.cfg.baseWidth()
	stem := r.cfg.Stem
	if stem == StemAuto {
		stem = stemFor(max(x.Shape().Dimensions[1], x.Shape().Dimensions[2]))
	}
	// A fresh copy of the scope: building the encoder again on the same scope (e.g. on a
	// second view) then reuses the same variables instead of panicking on revisited sub-scopes.
	scope := r.scope.ResetVisited()
	xs := batchParts(x, partsPerCPU(base))
	switch stem {
	case SmallImageStem:
		xs = convBNReLU(scope.In("stem"), xs, base, 3, 1, 1)
	case StandardStem:
		xs = convBNReLU(scope.In("stem"), xs, base, 7, 2, 3)
		xs = eachPart(xs, func(x *Node) *Node { return MaxPool2D(x, 3, 2, 1) })
	default:
		exceptions.Panicf("models.ResNet: unknown stem %v", stem)
	}
	out := [][]*Node{xs}
	for stage, blocks := range stages.blocks {
		width := base << stage
		stageScope := scope.In("stage%d", stage+1)
		for block := range blocks {
			stride := 1
			if block == 0 && stage > 0 {
				stride = 2
			}
			blockScope := stageScope.In("block%d", block)
			if stages.bottleneck {
				xs = bottleneckBlock(blockScope, xs, width, stride)
			} else {
				xs = basicBlock(blockScope, xs, width, stride)
			}
		}
		out = append(out, xs)
	}
	return out
}

// ConvLayer is a convolution without bias (every ResNet convolution is followed by batch
// norm) with a "weights" variable [k, k, C, channels] in scope, He-initialised by default.
func ConvLayer(scope *model.Scope, x *Node, channels, kernel, stride, padding int) *Node {
	return convLayer(scope, []*Node{x}, channels, kernel, stride, padding)[0]
}

// convLayer is ConvLayer on the parts of a batch, with one kernel.
func convLayer(scope *model.Scope, xs []*Node, channels, kernel, stride, padding int) []*Node {
	x := xs[0]
	c := x.Shape().Dimensions[x.Rank()-1]
	w := scope.VariableWithShape("weights", shapes.Make(x.DType(), kernel, kernel, c, channels)).NodeValue(x.Graph())
	return eachPart(xs, func(x *Node) *Node { return Conv2D(x, w, stride, padding) })
}

func convBN(scope *model.Scope, xs []*Node, channels, kernel, stride, padding int) []*Node {
	xs = convLayer(scope.In("conv"), xs, channels, kernel, stride, padding)
	return batchNormParts(scope, xs).parts()
}

func convBNReLU(scope *model.Scope, xs []*Node, channels, kernel, stride, padding int) []*Node {
	return eachPart(convBN(scope, xs, channels, kernel, stride, padding), Relu)
}

// shortcut is the identity, or a 1×1 projection (with BN) when the shape changes.
func shortcut(scope *model.Scope, xs []*Node, channels, stride int) []*Node {
	if stride == 1 && xs[0].Shape().Dimensions[3] == channels {
		return xs
	}
	return convBN(scope.In("shortcut"), xs, channels, 1, stride, 0)
}

// basicBlock: relu(bn(conv3×3(relu(bn(conv3×3/stride(x))))) + shortcut(x)).
func basicBlock(scope *model.Scope, xs []*Node, width, stride int) []*Node {
	ys := convBNReLU(scope.In("a"), xs, width, 3, stride, 1)
	ys = convBN(scope.In("b"), ys, width, 3, 1, 1)
	return addRelu(ys, shortcut(scope, xs, width, stride))
}

// bottleneckBlock: 1×1 to width, 3×3/stride, 1×1 to 4·width, plus the shortcut.
func bottleneckBlock(scope *model.Scope, xs []*Node, width, stride int) []*Node {
	ys := convBNReLU(scope.In("a"), xs, width, 1, 1, 0)
	ys = convBNReLU(scope.In("b"), ys, width, 3, stride, 1)
	ys = convBN(scope.In("c"), ys, 4*width, 1, 1, 0)
	return addRelu(ys, shortcut(scope, xs, 4*width, stride))
}

// addRelu is relu(a + b), part by part.
func addRelu(as, bs []*Node) []*Node {
	out := make([]*Node, len(as))
	for i := range as {
		out[i] = Relu(Add(as[i], bs[i]))
	}
	return out
}
