package models

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
)

// TestReluMatchesStock checks Relu and its gradient against GoMLX's activation.Relu, on
// inputs that include exact zeros (whose gradient is zero in both).
func TestReluMatchesStock(t *testing.T) {
	x := randomTensor(1, 3, 5, 4, 6)
	xs := tensors.MustCopyFlatData[float32](x)
	for i := 0; i < len(xs); i += 7 {
		xs[i] = 0
	}
	x = tensors.FromFlatDataAndDimensions(xs, 3, 5, 4, 6)
	r := randomTensor(2, 3, 5, 4, 6)
	run := func(relu func(*graph.Node) *graph.Node) []*tensors.Tensor {
		// An input computed in the graph, as in a network.
		return outputAndGradient(t, func(x *graph.Node) *graph.Node { return relu(graph.MulScalar(x, 2)) }, x, r)
	}
	want, got := run(activation.Relu), run(Relu)
	for i, name := range []string{"output", "grad x"} {
		assertClose(t, name, tensors.MustCopyFlatData[float32](got[i]), tensors.MustCopyFlatData[float32](want[i]), 0)
	}
}
