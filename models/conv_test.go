package models

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/medssl/medssl"
)

// TestConv2DMatchesStock checks Conv2D and its gradients (with respect to the input and the
// kernel) against GoMLX's own graph.Convolve on small random inputs.
func TestConv2DMatchesStock(t *testing.T) {
	cases := []struct {
		name                          string
		b, h, w, c, o, k, stride, pad int
	}{
		{"1x1_s1", 2, 5, 6, 3, 4, 1, 1, 0},
		{"1x1_s2", 2, 7, 6, 20, 5, 1, 2, 0},
		{"3x3_s1_pad1", 2, 6, 5, 3, 4, 3, 1, 1},
		{"3x3_s1_pad1_manyC", 2, 6, 5, 24, 8, 3, 1, 1},
		{"3x3_s1_nopad", 2, 6, 7, 3, 4, 3, 1, 0},
		{"3x3_s2_pad1", 2, 7, 8, 3, 4, 3, 2, 1},
		{"3x3_s2_pad1_manyC", 2, 8, 7, 20, 6, 3, 2, 1},
		{"3x3_s2_nopad", 2, 8, 9, 2, 3, 3, 2, 0},
		{"7x7_s2_pad3", 2, 16, 15, 3, 4, 7, 2, 3},
		{"7x7_s2_pad3_gray", 1, 13, 13, 1, 5, 7, 2, 3},
		{"7x7_s1_nopad", 1, 9, 10, 2, 3, 7, 1, 0},
		{"3x3_s1_pad1_C1", 3, 5, 5, 1, 4, 3, 1, 1},
		{"3x3_s1_pad1_winograd", 2, 6, 8, 16, 5, 3, 1, 1}, // even size, 16 channels: winograd3x3
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ho := (c.h+2*c.pad-c.k)/c.stride + 1
			wo := (c.w+2*c.pad-c.k)/c.stride + 1
			x := randomTensor(uint64(10*ci+1), c.b, c.h, c.w, c.c)
			k := randomTensor(uint64(10*ci+2), c.k, c.k, c.c, c.o)
			r := randomTensor(uint64(10*ci+3), c.b, ho, wo, c.o)
			checkConvAgainstStock(t, Conv2D, x, k, r, c.stride, c.pad)
		})
	}
}

// checkConvAgainstStock fails unless conv's output and its gradients with respect to x and k
// (of loss = Σ conv(x, k)·r) equal those of GoMLX's graph.Convolve.
func checkConvAgainstStock(t *testing.T, conv func(x, k *graph.Node, stride, pad int) *graph.Node, x, k, r *tensors.Tensor, stride, pad int) {
	t.Helper()
	run := func(conv func(x, k *graph.Node, stride, pad int) *graph.Node) []*tensors.Tensor {
		exec, err := graph.NewExec(medssl.MustBackend(), func(x, k, r *graph.Node) []*graph.Node {
			out := convFwdBwd(conv, stride, pad)(x, k, r)
			return append([]*graph.Node{conv(x, k, stride, pad)}, out[1:]...)
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
	want, got := run(stockConv2D), run(conv)
	for i, name := range []string{"output", "grad x", "grad kernel"} {
		if !got[i].Shape().Equal(want[i].Shape()) {
			t.Fatalf("%s: shape %s, stock convolution gives %s", name, got[i].Shape(), want[i].Shape())
		}
		assertClose(t, name, tensors.MustCopyFlatData[float32](got[i]), tensors.MustCopyFlatData[float32](want[i]), 1e-4)
	}
}

// assertClose fails unless |got-want| <= tol·(1+|want|) element-wise.
func assertClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %g)", name, i, got[i], want[i], d)
		}
	}
}

// The hand-written backward pass must not send gradients where autodiff would not: with
// the input computed by an op that has no gradient (Floor, as in augmentations) and only
// the kernel's gradient asked for, Conv2D gives the stock convolution's kernel gradient.
func TestConv2DKernelGradientOnly(t *testing.T) {
	backend := medssl.MustBackend()
	x := randomTensor(7, 2, 6, 6, 16)
	k := randomTensor(8, 3, 3, 16, 4)
	run := func(conv func(x, k *graph.Node, stride, pad int) *graph.Node) []float32 {
		exec, err := graph.NewExec(backend, func(x, k *graph.Node) *graph.Node {
			xq := graph.DivScalar(graph.Floor(graph.MulScalar(x, 10)), 10)
			y := conv(xq, k, 1, 1)
			return graph.Gradient(graph.ReduceAllSum(graph.Square(y)), k)[0]
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(x, k)
		if err != nil {
			t.Fatal(err)
		}
		return tensors.MustCopyFlatData[float32](out[0])
	}
	assertClose(t, "grad kernel", run(Conv2D), run(stockConv2D), 1e-4)
}
