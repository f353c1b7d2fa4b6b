package models

import (
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// FeatureMaps implements DenseEncoder: the patch tokens after the final norm (Tokens
// without the class token) laid back on their grid, one map [B, H/p, W/p, Width] of stride
// p = PatchSize (a power of two for UNetDecoder).
//
// A ViT has no finer maps, so UNetDecoder decodes it as a light progressive-upsampling
// decoder: ×2 nearest upsampling steps, each followed by two 3×3 convolutions halving the
// width (Width/2, Width/4, … down to MinDecoderWidth), and at full resolution a skip from
// the image itself, as UNETR's first skip. (UNETR also taps intermediate transformer
// blocks; with the small patches medssl's ViTs use on small images, the input skip
// restores most of what the grid loses, at no cost in the encoder.)
func (c ViTConfig) FeatureMaps(scope *model.Scope, images *Node) []*Node {
	tokens := c.Tokens(scope, images) // [B, 1+N, D]
	d := images.Shape().Dimensions
	gh, gw := d[1]/c.PatchSize, d[2]/c.PatchSize
	patches := SliceAxis(tokens, 1, AxisRange(1))
	return []*Node{Reshape(patches, d[0], gh, gw, c.Width)}
}

var (
	_ DenseEncoder = ResNetConfig{}
	_ DenseEncoder = ViTConfig{}
)
