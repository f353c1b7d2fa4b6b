package models

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// MLPBuilder configures a projection or prediction head; create it with MLP, finish with Done.
type MLPBuilder struct {
	scope     *model.Scope
	x         *Node
	dims      []int
	batchNorm bool
	act       activation.Type
}

// MLP starts a head on x [B, F] with the given layer widths: every layer but the last is
// Linear → BatchNorm → ReLU, the last one Linear alone. For example a projection
// 512-512-128 on 512-d features is
//
//	z := models.MLP(scope, h, 512, 128).Done()
//
// Each layer's variables live in scope.In("layer<i>"); building the head again on the same
// scope (e.g. for a second view) shares them. Linear layers use GoMLX's nn.Dense,
// which the go backend runs as one fused op.
func MLP(scope *model.Scope, x *Node, dims ...int) *MLPBuilder {
	return &MLPBuilder{scope: scope, x: x, dims: dims, batchNorm: true, act: activation.TypeRelu}
}

// BatchNorm sets whether hidden layers have batch norm (default true). SimCLR v1 and the
// PyTorch peer benchmark use none.
func (m *MLPBuilder) BatchNorm(enabled bool) *MLPBuilder {
	m.batchNorm = enabled
	return m
}

// Activation sets the hidden layers' activation (default ReLU).
func (m *MLPBuilder) Activation(act activation.Type) *MLPBuilder {
	m.act = act
	return m
}

// Done builds the head and returns [B, last width].
func (m *MLPBuilder) Done() *Node {
	if len(m.dims) == 0 {
		exceptions.Panicf("models.MLP: no layer widths given")
	}
	if m.x.Rank() != 2 {
		exceptions.Panicf("models.MLP: x must be [B, features], got %s", m.x.Shape())
	}
	x := m.x
	head := m.scope.ResetVisited() // a second call on the same scope shares the weights
	for i, dim := range m.dims {
		if dim <= 0 {
			exceptions.Panicf("models.MLP: layer widths must be positive, got %v", m.dims)
		}
		scope := head.In("layer%d", i)
		last := i == len(m.dims)-1
		act := activation.TypeNone
		if !last && !m.batchNorm {
			act = m.act // fused into the dense op
		}
		x = Linear(scope, x, dim, act)
		if !last && m.batchNorm {
			x = activate(m.act, BatchNorm(scope, x).Done())
		}
	}
	return x
}

// Linear is a dense layer y = act(x·W + b) on x [B, F], with variables "weights" [F, dim]
// (He-initialised by default) and "biases" [dim] in scope.
func Linear(scope *model.Scope, x *Node, dim int, act activation.Type) *Node {
	g := x.Graph()
	in := x.Shape().Dimensions[x.Rank()-1]
	w := scope.VariableWithShape("weights", shapes.Make(x.DType(), in, dim)).NodeValue(g)
	b := scope.VariableWithShape("biases", shapes.Make(x.DType(), dim)).NodeValue(g)
	return nn.Dense(x, w, b, compute.DenseLayoutInputOutputs, act)
}
