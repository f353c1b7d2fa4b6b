package models

import (
	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray 2016, "Fast Algorithms for
// Convolutional Neural Networks"): a 3×3 stride-1 convolution computed on 4×4 input tiles
// (overlapping by 2) that each give a 2×2 block of the output,
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A,
//
// which needs 16 products per tile and channel pair where the direct convolution needs 36,
// at the cost of linear transforms of the tiles, the kernel and the products.
var (
	winogradBT = [][]float32{{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}}
	winogradG  = [][]float32{{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}}
	winogradAT = [][]float32{{1, 1, 1, 0}, {0, 1, -1, -1}}
)

// winogradKron returns the matrix [R·R, S·S] of the two-sided transform X ↦ M X Mᵀ on
// row-major flattened S×S matrices (M is R×S): entry ((i, j), (k, l)) is M[i][k]·M[j][l].
func winogradKron(m [][]float32) [][]float32 {
	r, s := len(m), len(m[0])
	out := make([][]float32, r*r)
	for i := range r {
		for j := range r {
			row := make([]float32, s*s)
			for k := range s {
				for l := range s {
					row[k*s+l] = m[i][k] * m[j][l]
				}
			}
			out[i*r+j] = row
		}
	}
	return out
}

// winogradConst returns the constant matrix [R·R, S·S] of the two-sided transform
// X ↦ M X Mᵀ (M is R×S) on row-major flattened matrices, transposed when asked.
func winogradConst(g *Graph, m [][]float32, transposed bool) *Node {
	k := winogradKron(m)
	if transposed {
		t := make([][]float32, len(k[0]))
		for j := range t {
			t[j] = make([]float32, len(k))
			for i := range k {
				t[j][i] = k[i][j]
			}
		}
		k = t
	}
	return Const(g, k)
}

// winograd3x3 is Conv2D for a 3×3 kernel with stride 1 and padding 1 on the go backend:
// x [B, H, W, C], kernel [3, 3, C, O] → [B, H, W, O].
//
// Layout, chosen so that every large product runs in a form the go backend takes without
// transposing its operands (batch axes first, the lhs contracting its last axis):
//  1. the 16 taps of every 4×4 tile gathered as blocks of the zero-padded input reshaped
//     to [B, Th+1, 2, Tw+1, 2, C] (tiles start every 2 pixels): d [16, P·C] with
//     P = B·Th·Tw tiles;
//  2. the input transform as one product with a constant [16, 16]: v [16, P, C]; the
//     kernel transform likewise: u [16, C, O];
//  3. 16 independent products v[t]·u[t]: m [16, P, O];
//  4. the output transform [4, 16]·m, its 2×2 blocks put in place (and cropped when H or
//     W is odd) by one gather of O contiguous values per output pixel.
//
// The backward pass of steps 2-4 is written by hand (withBackward): autodiff of the
// products transposes three tile-sized arrays (and ran 1.7× slower than im2col); this one
// transposes only the padded input, a quarter of the tiles' size, to gather the tiles
// channels-first for the kernel gradient. The tiles are not kept for it but gathered again
// from x once the output gradient has arrived, as convProduct does with its windows.
func winograd3x3(x, kernel *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	o := kernel.Shape().Dimensions[3]
	th, tw := (h+1)/2, (w+1)/2
	p := b * th * tw
	dt := x.DType()
	bt := ConvertDType(winogradConst(g, winogradBT, false), dt) // [16, 16]
	at := ConvertDType(winogradConst(g, winogradAT, false), dt) // [4, 16]

	tiles := func(x *Node) *Node { return winogradTiles(x, th, tw) } // [16, P·C]
	transformKernel := func(k, gate *Node) *Node {                   // [16, C, O]
		gk := gated(ConvertDType(winogradConst(g, winogradG, false), dt), gate) // [16, 9]
		return Reshape(Dot(gk, Reshape(k, 9, c*o)).Product(), 16, c, o)
	}
	y4 := withBackward([]*Node{tiles(x), kernel},
		func(ids []*Node) *Node {
			v := Reshape(Dot(bt, ids[0]).Product(), 16, p, c)
			m := Dot(v, transformKernel(ids[1], nil)).General([]int{2}, []int{0}, []int{1}, []int{0}) // [16, P, O]
			return Dot(at, Reshape(m, 16, p*o)).Product()                                             // [4, P·O]
		},
		func(dy4 *Node) []*Node {
			// Four tile-sized arrays are computed in turn (vT, dm, dv, dd), and each is
			// computed after the one before the last has been used for the last time, so that
			// no more than two are alive at once: vT before dm, dv after du.
			vT := Reshape(Dot(bt, winogradTilesChannelsFirst(x, dy4, th, tw)).Product(), 16, c, p)
			dm := Reshape(Dot(ConvertDType(winogradConst(g, winogradAT, true), dt), SchedulingBarrier(dy4, vT)).Product(), 16, p, o)
			du := Dot(vT, dm).General([]int{2}, []int{0}, []int{1}, []int{0}) // [16, C, O]
			gkT := ConvertDType(winogradConst(g, winogradG, true), dt)        // [9, 16]
			dk := Reshape(Dot(gkT, Reshape(du, 16, c*o)).Product(), 3, 3, c, o)
			u := transformKernel(kernel, du)                                 // dv after du: see above
			dv := Dot(dm, u).General([]int{2}, []int{0}, []int{2}, []int{0}) // [16, P, C]
			dd := Dot(ConvertDType(winogradConst(g, winogradBT, true), dt), Reshape(dv, 16, p*c)).Product()
			return []*Node{dd, dk}
		})
	return winogradPlace(y4, b, h, w, th, tw, o)
}

// winogradTiles gathers the 16 taps of every 4×4 tile (tiles every 2 pixels, Th×Tw of
// them) of x [B, H, W, C] zero-padded by 1 before: [16, B·Th·Tw·C], ordered (tap row, tap
// column) then (batch, tile row, tile column, channel).
func winogradTiles(x *Node, th, tw int) *Node {
	dims := x.Shape().Dimensions
	b, c := dims[0], dims[3]
	// The tiles are the windows of a 4×4 kernel moved by 2 over x padded by 1.
	d := blockTaps(x, ScalarZero(x.Graph(), x.DType()), nil, 4, 4, 2, 1, th, tw) // [16, B, Th, 1, Tw, 1, C]
	return Reshape(d, 16, b*th*tw*c)
}

// winogradTilesChannelsFirst is winogradTiles ordered (tap, channel, batch, tile row, tile
// column): [16, C·B·Th·Tw], for the kernel gradient's product, which contracts the tiles.
// Transposing x (padded, split into row and column parities as
// [C, B, 2, 2, Th+1, Tw+1]) and gathering runs of Tw values costs a quarter of what
// transposing the gathered tiles would.
//
// The padding waits for gate (see gated).
func winogradTilesChannelsFirst(x, gate *Node, th, tw int) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	x = Pad(x, gated(ScalarZero(g, x.DType()), gate),
		compute.PadAxis{}, compute.PadAxis{Start: 1, End: 2*th + 1 - h},
		compute.PadAxis{Start: 1, End: 2*tw + 1 - w}, compute.PadAxis{})
	x = TransposeAllAxes(Reshape(x, b, th+1, 2, tw+1, 2, c), 5, 0, 2, 4, 1, 3) // [C, B, 2, 2, Th+1, Tw+1]
	starts := make([][]int32, 0, 16)
	for k := range 4 {
		for l := range 4 {
			starts = append(starts, []int32{int32(k % 2), int32(l % 2), int32(k / 2), int32(l / 2)})
		}
	}
	d := GatherSlices(x, []int{2, 3, 4, 5}, Const(g, starts), []int{1, 1, th, tw}, true) // [16, C, B, 1, 1, Th, Tw]
	return Reshape(d, 16, c*b*th*tw)
}

// winogradPlace puts the output blocks y4 [4, B·Th·Tw·O] (ordered (row, column) within the
// 2×2 block) in place as [B, H, W, O]: one gather of the O values of every output pixel,
// whose gradient is a scatter-add of contiguous blocks.
func winogradPlace(y4 *Node, b, h, w, th, tw, o int) *Node {
	y4 = Reshape(y4, 4, b, th, tw, o)
	indices := sharedIndices(y4.Graph(), "winograd-place", [6]int{b, h, w}, func() *tensors.Tensor {
		idx := make([]int32, 0, b*h*w*4)
		for bi := range b {
			for i := range h {
				for j := range w {
					idx = append(idx, int32(2*(i%2)+j%2), int32(bi), int32(i/2), int32(j/2))
				}
			}
		}
		return tensors.FromFlatDataAndDimensions(idx, b, h, w, 4)
	})
	y := GatherSlices(y4, []int{0, 1, 2, 3}, indices, []int{1, 1, 1, 1}, true) // [B, H, W, 1, 1, 1, 1, O]
	return Reshape(y, b, h, w, o)
}
