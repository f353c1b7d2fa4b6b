package models

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
)

// TestWinogradMatchesStock checks Winograd's F(2×2, 3×3) and both its gradients against
// GoMLX's graph.Convolve (stride 1, padding 1), for even and odd sizes, one and many channels.
func TestWinogradMatchesStock(t *testing.T) {
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
			checkConvAgainstStock(t, func(x, k *graph.Node, _, _ int) *graph.Node { return winograd3x3(x, k) }, x, k, r, 1, 1)
		})
	}
}
