package models

import (
	"fmt"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// DecoderScope is the scope under which Segment keeps its decoder's variables, beside the
// encoder's under EncoderScope: a segmentation model is an encoder checkpoint plus a
// decoder, and fine-tuning loads the first by name.
const DecoderScope = "decoder"

// DenseEncoder is an Encoder whose feature maps a dense decoder can read, for
// segmentation and for restoration pretext tasks. ResNetConfig and ViTConfig implement it.
type DenseEncoder interface {
	Encoder
	// FeatureMaps builds the encoder on images [B, H, W, C] with Encode's variables
	// (under the same scope) and returns its feature maps, [B, H/s, W/s, Cᵢ] each for the
	// map's stride s, from the finest to the coarsest; strides are powers of two.
	FeatureMaps(scope *model.Scope, images *Node) []*Node
}

// FeatureMaps implements DenseEncoder: the stem's and the four stages' outputs (Stages),
// strides 1, 1, 2, 4, 8 with the small-image stem and 2, 4, 8, 16, 32 with the standard
// one.
func (c ResNetConfig) FeatureMaps(scope *model.Scope, images *Node) []*Node {
	return c.Stages(scope, images)
}

// DenseOf returns enc as a DenseEncoder, or an error naming it when it has no feature maps.
func DenseOf(enc Encoder) (DenseEncoder, error) {
	if d, ok := enc.(DenseEncoder); ok {
		return d, nil
	}
	return nil, fmt.Errorf("models: encoder %s (%T) has no feature maps for a dense decoder (use a ResNet or a ViT)", enc.Name(), enc)
}

// MinDecoderWidth is the narrowest decoder block: the width the decoder keeps once it has
// halved its way down at the finest levels.
const MinDecoderWidth = 16

// Segment builds a segmentation network on images [B, H, W, C]: enc's feature maps (its
// variables under scope/EncoderScope, so any pretrained encoder loads by name) decoded by
// UNetDecoder (variables under scope/DecoderScope) into per-pixel class logits
// [B, H, W, classes]. H and W must be multiples of the encoder's coarsest stride.
func Segment(scope *model.Scope, enc Encoder, images *Node, classes int) *Node {
	d, err := DenseOf(enc)
	if err != nil {
		exceptions.Panicf("%v", err)
	}
	maps := d.FeatureMaps(scope.In(EncoderScope), images)
	return UNetDecoder(scope.In(DecoderScope), maps, images, classes)
}

// UNetDecoder decodes feature maps (finest first, as DenseEncoder.FeatureMaps returns
// them) back to the resolution of images and returns [B, H, W, out]: per-pixel outputs of
// a final 1×1 convolution with bias, no activation.
//
// It is a U-Net decoder (Ronneberger et al. 2015) with skip connections: starting from the
// coarsest map, each step upsamples by nearest neighbour to the next map's resolution,
// concatenates that map (the skip) and applies a block of two 3×3 convolutions with batch
// norm and ReLU, as wide as the skip. Maps already at the same resolution (a ResNet's stem
// and first stage) are merged without upsampling. When the finest map is still coarser
// than the image (a standard-stem ResNet, a ViT's patch grid) the decoder continues with
// progressive ×2 upsampling steps (SETR's PUP, Zheng et al. 2021), halving the width down
// to MinDecoderWidth, and at full resolution merges features of the image itself (one 3×3
// convolution block, UNETR's first skip, Hatamizadeh et al. 2022), which restores the
// boundaries a coarse grid cannot place.
//
// Upsampling is nearest-neighbour, a reshape and a broadcast (its gradient a sum over the
// copies), rather than a transposed convolution: the convolution that follows learns the
// interpolation, and on the pure-Go backend the broadcast costs a copy where a transposed
// convolution would cost a scatter of every kernel tap.
//
// Variables: block<i>/{a,b}/{conv/weights, batch_norm/...}, input/..., head/{weights, biases}.
func UNetDecoder(scope *model.Scope, maps []*Node, images *Node, out int) *Node {
	if len(maps) == 0 {
		exceptions.Panicf("models.UNetDecoder: no feature maps")
	}
	if images.Rank() != 4 {
		exceptions.Panicf("models.UNetDecoder: images must be [B, H, W, C], got %s", images.Shape())
	}
	scope = scope.ResetVisited()
	h, w := images.Shape().Dimensions[1], images.Shape().Dimensions[2]
	x := maps[len(maps)-1]
	block := 0
	for i := len(maps) - 2; i >= 0; i-- {
		skip := maps[i]
		x = upsampleTo(x, skip.Shape().Dimensions[1], skip.Shape().Dimensions[2], h, w)
		x = Concatenate([]*Node{x, skip}, -1)
		x = decoderBlock(scope.In("block%d", block), x, skip.Shape().Dimensions[3])
		block++
	}
	width := x.Shape().Dimensions[3]
	for x.Shape().Dimensions[1] < h {
		f := 2
		if h%(2*x.Shape().Dimensions[1]) != 0 {
			f = h / x.Shape().Dimensions[1]
		}
		if f < 2 {
			exceptions.Panicf("models.UNetDecoder: cannot upsample a %dx%d map to %dx%d images: image sides must be multiples of the encoder's coarsest stride",
				x.Shape().Dimensions[1], x.Shape().Dimensions[2], h, w)
		}
		x = upsampleTo(x, x.Shape().Dimensions[1]*f, x.Shape().Dimensions[2]*f, h, w)
		width = max(MinDecoderWidth, width/2)
		if x.Shape().Dimensions[1] == h {
			in := convBNReLU(scope.In("input"), []*Node{images}, width, 3, 1, 1)[0]
			x = Concatenate([]*Node{x, in}, -1)
		}
		x = decoderBlock(scope.In("block%d", block), x, width)
		block++
	}
	if x.Shape().Dimensions[1] != h || x.Shape().Dimensions[2] != w {
		exceptions.Panicf("models.UNetDecoder: decoded to %dx%d for %dx%d images (image sides must be multiples of the coarsest stride)",
			x.Shape().Dimensions[1], x.Shape().Dimensions[2], h, w)
	}
	return conv1x1Bias(scope.In("head"), x, out)
}

// decoderBlock is two 3×3 convolutions with batch norm and ReLU, width channels each.
func decoderBlock(scope *model.Scope, x *Node, width int) *Node {
	x = convBNReLU(scope.In("a"), []*Node{x}, width, 3, 1, 1)[0]
	return convBNReLU(scope.In("b"), []*Node{x}, width, 3, 1, 1)[0]
}

// upsampleTo repeats every pixel of x [B, H, W, C] to reach th×tw (integer factors);
// imgH, imgW only serve the error message.
func upsampleTo(x *Node, th, tw, imgH, imgW int) *Node {
	d := x.Shape().Dimensions
	if th == d[1] && tw == d[2] {
		return x
	}
	if th%d[1] != 0 || tw%d[2] != 0 || th/d[1] != tw/d[2] {
		exceptions.Panicf("models.UNetDecoder: cannot upsample a %dx%d map to %dx%d for %dx%d images: image sides must be multiples of the encoder's coarsest stride",
			d[1], d[2], th, tw, imgH, imgW)
	}
	return UpsampleNearest(x, th/d[1])
}

// UpsampleNearest repeats every pixel of x [B, H, W, C] f×f times: [B, f·H, f·W, C].
func UpsampleNearest(x *Node, f int) *Node {
	if f == 1 {
		return x
	}
	d := x.Shape().Dimensions
	b, h, w, c := d[0], d[1], d[2], d[3]
	y := BroadcastToDims(Reshape(x, b, h, 1, w, 1, c), b, h, f, w, f, c)
	return Reshape(y, b, h*f, w*f, c)
}

// conv1x1Bias is a 1×1 convolution with bias (out channels), the decoder's head.
func conv1x1Bias(scope *model.Scope, x *Node, out int) *Node {
	d := x.Shape().Dimensions
	c := d[3]
	wts := scope.VariableWithShape("weights", shapes.Make(x.DType(), 1, 1, c, out)).NodeValue(x.Graph())
	b := scope.WithInitializer(initializer.Zero).VariableWithShape("biases", shapes.Make(x.DType(), out)).NodeValue(x.Graph())
	y := Conv2D(x, wts, 1, 0)
	return Add(y, ExpandLeftToRank(b, 4))
}
