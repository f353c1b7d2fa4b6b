// Package testutil holds helpers shared by medssl's tests.
package testutil

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// SmallEncoder is a two-layer conv net (3×3 stride 1 to Width/2 channels, 3×3 stride 2 to
// Width channels, batch norm, ReLU, global average pool). Tests of training protocols use it
// so that they exercise the protocol rather than ResNet's cost; it also shows that any
// models.Encoder plugs in.
type SmallEncoder struct{ Width int }

// Name implements models.Encoder.
func (e SmallEncoder) Name() string { return "small" }

// FeatureDim implements models.Encoder.
func (e SmallEncoder) FeatureDim() int { return e.Width }

// Encode implements models.Encoder.
func (e SmallEncoder) Encode(scope *model.Scope, x *graph.Node) *graph.Node {
	scope = scope.ResetVisited()
	x = activation.Relu(models.BatchNorm(scope.In("bn1"), models.ConvLayer(scope.In("conv1"), x, e.Width/2, 3, 1, 1)).Done())
	x = activation.Relu(models.BatchNorm(scope.In("bn2"), models.ConvLayer(scope.In("conv2"), x, e.Width, 3, 2, 1)).Done())
	return graph.ReduceMean(x, 1, 2)
}
