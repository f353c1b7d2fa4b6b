package models

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestMaxPool2DMatchesStock checks MaxPool2D and its gradient against GoMLX's graph.MaxPool
// on random inputs (no ties), over windows, strides and paddings, even and odd sizes.
func TestMaxPool2DMatchesStock(t *testing.T) {
	cases := []struct {
		name                       string
		b, h, w, c, k, stride, pad int
	}{
		{"3x3_s2_pad1", 2, 8, 8, 3, 3, 2, 1},
		{"3x3_s2_pad1_odd", 2, 7, 9, 4, 3, 2, 1},
		{"2x2_s2", 1, 6, 4, 2, 2, 2, 0},
		{"3x3_s1_pad1", 2, 5, 6, 3, 3, 1, 1},
		{"3x3_s3", 1, 9, 7, 2, 3, 3, 0},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ho := (c.h+2*c.pad-c.k)/c.stride + 1
			wo := (c.w+2*c.pad-c.k)/c.stride + 1
			x := randomTensor(uint64(10*ci+1), c.b, c.h, c.w, c.c)
			r := randomTensor(uint64(10*ci+2), c.b, ho, wo, c.c)
			run := func(pool func(x *graph.Node) *graph.Node) []*tensors.Tensor { return outputAndGradient(t, pool, x, r) }
			want := run(func(x *graph.Node) *graph.Node {
				return graph.MaxPool(x).Window(c.k).Strides(c.stride).PaddingPerDim([][2]int{{c.pad, c.pad}, {c.pad, c.pad}}).Done()
			})
			got := run(func(x *graph.Node) *graph.Node { return MaxPool2D(x, c.k, c.stride, c.pad) })
			for i, name := range []string{"output", "grad x"} {
				if !got[i].Shape().Equal(want[i].Shape()) {
					t.Fatalf("%s: shape %s, stock max-pooling gives %s", name, got[i].Shape(), want[i].Shape())
				}
				assertClose(t, name, tensors.MustCopyFlatData[float32](got[i]), tensors.MustCopyFlatData[float32](want[i]), 1e-6)
			}
		})
	}
}

// TestMaxPool2DTies checks the gradient on inputs full of ties (zeros, as after a ReLU)
// against a naive loop that sends each window's gradient to its first maximum in row-major
// order, PyTorch's rule.
func TestMaxPool2DTies(t *testing.T) {
	const b, h, w, c, k, s, p = 2, 7, 6, 3, 3, 2, 1
	ho, wo := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float32, b*h*w*c)
	for i := range xs {
		if rng.IntN(3) == 0 { // two thirds zeros
			xs[i] = float32(rng.IntN(3))
		}
	}
	rs := make([]float32, b*ho*wo*c)
	for i := range rs {
		rs[i] = float32(rng.NormFloat64())
	}
	outs := outputAndGradient(t, func(x *graph.Node) *graph.Node { return MaxPool2D(x, k, s, p) },
		tensors.FromFlatDataAndDimensions(xs, b, h, w, c), tensors.FromFlatDataAndDimensions(rs, b, ho, wo, c))
	wantY := make([]float32, len(rs))
	wantDx := make([]float32, len(xs))
	at := func(bi, i, j, ci int) int { return ((bi*h+i)*w+j)*c + ci }
	for bi := range b {
		for oi := range ho {
			for oj := range wo {
				for ci := range c {
					best := -1
					for di := range k {
						for dj := range k {
							i, j := oi*s-p+di, oj*s-p+dj
							if i < 0 || j < 0 || i >= h || j >= w {
								continue
							}
							if best < 0 || xs[at(bi, i, j, ci)] > xs[best] {
								best = at(bi, i, j, ci)
							}
						}
					}
					o := ((bi*ho+oi)*wo+oj)*c + ci
					wantY[o] = xs[best]
					wantDx[best] += rs[o]
				}
			}
		}
	}
	assertClose(t, "output", tensors.MustCopyFlatData[float32](outs[0]), wantY, 1e-6)
	assertClose(t, "grad x", tensors.MustCopyFlatData[float32](outs[1]), wantDx, 1e-6)
}
