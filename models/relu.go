package models

import (
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// Relu is max(x, 0) whose gradient reads only its output: dx = dy where y > 0.
//
// GoMLX's fused ReLU hands its backward pass both the output and the input, so the graph
// keeps the pre-activation alive until the backward pass although ReLU's gradient needs
// only one of them: in a ResNet, the output of every batch norm stays in memory next to the
// ReLU's output (the next convolution's input, kept anyway). PyTorch's in-place ReLU keeps
// only the output. On the go backend this writes the backward pass by hand from the output
// alone; other backends (XLA) plan their own buffers and get activation.Relu.
func Relu(x *Node) *Node {
	if !isGoBackend(x.Graph()) {
		return activation.Relu(x)
	}
	// The backward pass reads the returned node, not the ReLU inside: a second use of the
	// inner node would make withBackward's output identity copy it.
	var y *Node
	y = withBackward([]*Node{x},
		func(ids []*Node) *Node { return activation.Relu(ids[0]) },
		func(dy *Node) []*Node {
			// The fused kernel takes its mask from its first argument, y.
			return []*Node{BackendFusedActivationVJP(y, y, dy, compute.ActivationConfig{Type: compute.ActivationRelu})}
		})
	return y
}

// activate applies act to x, ReLU through Relu, so that every layer of this package that
// ends in a ReLU keeps only its output for the backward pass.
func activate(act activation.Type, x *Node) *Node {
	if act == activation.TypeRelu {
		return Relu(x)
	}
	return activation.Apply(act, x)
}
