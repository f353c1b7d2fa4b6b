package models

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/medssl/medssl"
)

// TestWinogradMatchesStock checks Winograd's F(2×2, 3×3) and both its gradients against
// GoMLX's graph.Convolve (stride 1, padding 1), for even and odd sizes, one and many channels.
func TestWinogradMatchesStock(t *testing.T) {
	backend := medssl.MustBackend()
	cases := []struct {
		name          string
		b, h, w, c, o int
	}{
		{"even", 2, 6, 8, 3, 4},
		{"odd", 2, 7, 5, 3, 4},
		{"gray", 3, 5, 5, 1, 4},
		{"manyC", 2, 7, 7, 24, 8},
		{"tiny", 1, 1, 2, 5, 3},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randomTensor(uint64(10*ci+1), c.b, c.h, c.w, c.c)
			k := randomTensor(uint64(10*ci+2), 3, 3, c.c, c.o)
			r := randomTensor(uint64(10*ci+3), c.b, c.h, c.w, c.o)
			run := func(conv func(x, k *graph.Node, stride, pad int) *graph.Node) []*tensors.Tensor {
				exec, err := graph.NewExec(backend, func(x, k, r *graph.Node) []*graph.Node {
					out := convFwdBwd(conv, 1, 1)(x, k, r)
					return append([]*graph.Node{conv(x, k, 1, 1)}, out[1:]...)
				})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := exec.Exec(x, k, r)
				if err != nil {
					t.Fatal(err)
				}
				return outs
			}
			want := run(stockConv2D)
			got := run(func(x, k *graph.Node, _, _ int) *graph.Node { return winograd3x3(x, k) })
			for i, name := range []string{"output", "grad x", "grad kernel"} {
				if !got[i].Shape().Equal(want[i].Shape()) {
					t.Fatalf("%s: shape %s, stock convolution gives %s", name, got[i].Shape(), want[i].Shape())
				}
				assertClose(t, name, tensors.MustCopyFlatData[float32](got[i]), tensors.MustCopyFlatData[float32](want[i]), 1e-4)
			}
		})
	}
}
