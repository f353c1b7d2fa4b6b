// Package models holds the encoders (ResNet, ViT) and the small heads (MLP projection and
// prediction heads) that pretext tasks and classifiers put on top of them.
//
// Every model is a function of (scope *model.Scope, x *graph.Node) in GoMLX's style.
// Images are channels-last float32 [B, H, W, C] with values in [0, 1].
package models

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// EncoderScope is the scope name under which encoders store their variables. Keeping it
// fixed lets any pretext method's checkpoint be loaded by fine-tuning and evaluation
// protocols by name, whatever method trained it.
const EncoderScope = "encoder"

// Encoder maps a batch of images [B, H, W, C] to features [B, FeatureDim()].
//
// Encode creates or reuses its variables under the given scope; calling it twice on the
// same scope shares the weights (as the two views of a contrastive method need).
// Training-dependent layers (batch norm) read scope.IsTraining(g).
type Encoder interface {
	// Name identifies the architecture, e.g. "resnet18".
	Name() string
	// FeatureDim is the width of the features Encode returns.
	FeatureDim() int
	// Encode builds the encoder graph on images and returns the features [B, FeatureDim()].
	Encode(scope *model.Scope, images *graph.Node) *graph.Node
}
