// Package ssl holds the self-supervised pretext methods and Pretrain, which trains an
// encoder with one of them on unlabelled images.
//
// Every method, built-in or a user's own, implements Method: Pretrain knows nothing else
// about it. A method builds its pretext loss in the graph from the augmented views of a
// batch; pretext labels and masks are made in the graph from the scope's random state, so
// a dataset only yields images.
package ssl

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// Method is a self-supervised pretext task. Implement it to add your own task: Pretrain,
// checkpoints and every evaluation protocol then work with it unchanged.
type Method interface {
	// Name identifies the method in logs, checkpoints and reports, e.g. "simclr".
	Name() string
	// Views is the number of independently augmented views of each image the loss needs.
	Views() int
	// Loss builds the scalar pretext loss while the graph is built. views[i] is the i-th
	// augmented view of the batch, each [B, H, W, C]. The encoder must be applied under
	// scope.In(models.EncoderScope) so that downstream protocols find its weights by name;
	// method-specific heads go under MethodScope(scope, m).
	Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node
}

// EncoderScope returns the scope every method must build its encoder in.
func EncoderScope(scope *model.Scope) *model.Scope { return scope.In(models.EncoderScope) }

// MethodScope returns the scope for a method's own variables (heads, queues, targets):
// "ssl/<name>". Keeping them apart from the encoder lets downstream code drop them.
func MethodScope(scope *model.Scope, m Method) *model.Scope {
	return scope.In("ssl").In("%s", m.Name())
}

// EncodeViews runs the encoder on each view (shared weights) and returns the features per
// view. Each view gets its own batch-norm statistics, as in the PyTorch peer and lightly.
// (Stacking the views into one batch of 2B was measured slower on the go backend: 17.6 vs
// 22.5 pairs/s for SimCLR ResNet-18 at batch 128, examples/bench.)
func EncodeViews(scope *model.Scope, enc models.Encoder, views []*graph.Node) []*graph.Node {
	encScope := EncoderScope(scope)
	feats := make([]*graph.Node, len(views))
	for i, v := range views {
		feats[i] = enc.Encode(encScope, v)
	}
	return feats
}
