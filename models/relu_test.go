package models

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/medssl/medssl"
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
		exec, err := graph.NewExec(medssl.MustBackend(), func(x, r *graph.Node) []*graph.Node {
			y := relu(graph.MulScalar(x, 2)) // an input computed in the graph, as in a network
			return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x)[0]}
		})
		if err != nil {
			t.Fatal(err)
		}
		outs, err := exec.Exec(x, r)
		if err != nil {
			t.Fatal(err)
		}
		return outs
	}
	want, got := run(activation.Relu), run(Relu)
	for i, name := range []string{"output", "grad x"} {
		assertClose(t, name, tensors.MustCopyFlatData[float32](got[i]), tensors.MustCopyFlatData[float32](want[i]), 0)
	}
}
