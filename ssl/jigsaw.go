package ssl

import (
	"fmt"
	"math"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/models"
)

// Jigsaw is the jigsaw-puzzle pretext task (Noroozi & Favaro, ECCV 2016): each image is
// cut into a Grid×Grid grid of tiles, the tiles are shuffled by one of a fixed set of
// permutations, each tile goes through the shared encoder, the features are concatenated
// in shuffled order and an MLP predicts which permutation was used (cross-entropy). The
// permutation index is drawn per image in the graph from the scope's random state.
//
// Defaults (NewJigsaw): the paper's 3×3 grid and 100 permutations (JigsawPermutations),
// tiles 64/75 of their cell with a random offset inside it (the paper's 64-pixel tiles in
// 75-pixel cells: the gap keeps the network from matching tile edges), each tile
// normalised to zero mean and unit variance (the paper's guard against low-level cues),
// and an MLP 9F→512→100 on the concatenated features (the paper: 9×1024→4096→100).
//
// On 28-pixel images the 3×3 grid is kept: cells are 9 pixels (a 27-pixel grid placed at a
// random offset in the image), tiles 8 pixels with a 0–1 pixel jitter. A tile covers a
// third of the image side as in the paper, only with fewer pixels. The encoders take such
// tiles: testutil.SmallEncoder and ResNet with the small-image stem (strides 1, 2, 2, 2 to
// 1×1 before global average pooling) run on 8×8 inputs. They are not resized by default,
// which keeps the cost at 9 tiles of 64 pixels per image (less than one 28×28 image);
// TileSize resizes them in the graph (augment.CropResize) for encoders that need larger
// inputs, e.g. the ImageNet stem on larger images. A 2×2 grid has only 4! = 24 possible
// orders, too few for the paper's argument that more permutations make a harder task.
type Jigsaw struct {
	// Grid is the number of tiles per side, 2 or 3.
	Grid int
	// Permutations is the size of the permutation set, at most Grid²!.
	Permutations int
	// TileFraction is the tile side as a fraction of its cell (0 < f ≤ 1); the rest of the
	// cell is the range of the tile's random offset.
	TileFraction float64
	// TileSize, when > 0, resizes every tile to TileSize×TileSize pixels.
	TileSize int
	// NormalizeTiles standardises each tile (per tile and channel-pooled mean and variance).
	NormalizeTiles bool
	// Hidden is the hidden width of the permutation classifier.
	Hidden int
}

// NewJigsaw returns the jigsaw task with the paper's defaults (see Jigsaw).
func NewJigsaw() *Jigsaw {
	return &Jigsaw{Grid: 3, Permutations: 100, TileFraction: 64.0 / 75.0, NormalizeTiles: true, Hidden: 512}
}

// Name implements Method.
func (m *Jigsaw) Name() string { return "jigsaw" }

// Views implements Method: one view, which the method cuts into tiles.
func (m *Jigsaw) Views() int { return 1 }

// Loss implements Method.
func (m *Jigsaw) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	perms, err := JigsawPermutations(m.Grid, m.Permutations)
	if err != nil {
		exceptions.Panicf("%v", err)
	}
	b := views[0].Shape().Dimensions[0]
	n := m.Grid * m.Grid
	tiles, labels := m.shuffledTiles(scope, views[0], perms)
	feats := enc.Encode(EncoderScope(scope), tiles) // [n·B, F], position-major
	f := feats.Shape().Dimensions[1]
	feats = graph.Reshape(graph.TransposeAllAxes(graph.Reshape(feats, n, b, f), 1, 0, 2), b, n*f)
	logits := models.MLP(MethodScope(scope, m).In("classifier"), feats, m.Hidden, len(perms)).Done()
	return pretextCrossEntropy(logits, labels)
}

// shuffledTiles draws a permutation index per image and returns the tiles in shuffled
// order, [n·B, t, t, C] position-major (row j·B+b is position j of image b, showing cell
// perms[labels[b]][j], cells numbered row by row), and the labels [B] (Int32).
func (m *Jigsaw) shuffledTiles(scope *model.Scope, x *graph.Node, perms [][]int) (tiles, labels *graph.Node) {
	if x.Rank() != 4 {
		exceptions.Panicf("ssl: jigsaw: images must be [B, H, W, C], got %s", x.Shape())
	}
	if m.TileFraction <= 0 || m.TileFraction > 1 || m.TileSize < 0 || m.Hidden <= 0 {
		exceptions.Panicf("ssl: jigsaw: TileFraction must be in (0, 1], TileSize ≥ 0 and Hidden > 0, got %g, %d, %d", m.TileFraction, m.TileSize, m.Hidden)
	}
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, h, w, c := dims[0], dims[1], dims[2], dims[3]
	grid, n := m.Grid, m.Grid*m.Grid
	cellH, cellW := h/grid, w/grid
	tileH := max(1, int(math.Round(float64(cellH)*m.TileFraction)))
	tileW := max(1, int(math.Round(float64(cellW)*m.TileFraction)))
	if cellH < 1 || cellW < 1 {
		exceptions.Panicf("ssl: jigsaw: %dx%d images are too small for a %dx%d grid", h, w, grid, grid)
	}
	outH, outW := tileH, tileW
	if m.TileSize > 0 {
		outH, outW = m.TileSize, m.TileSize
	}

	// Random draws: permutation per image, grid origin per image, tile offset per tile.
	labels = scope.RandomIntN(g, int32(len(perms)), shapes.Make(dtypes.Int32, b))
	randInt := func(hi int, dims ...int) *graph.Node { // uniform in {0, …, hi}
		return graph.ConvertDType(scope.RandomIntN(g, int32(hi+1), shapes.Make(dtypes.Int32, dims...)), x.DType())
	}
	originY, originX := randInt(h-grid*cellH, 1, b), randInt(w-grid*cellW, 1, b)
	jitterY, jitterX := randInt(cellH-tileH, n, b), randInt(cellW-tileW, n, b)

	// Row and column of the cell shown at each position: table lookups by label.
	rows := make([]int32, 0, len(perms)*n)
	cols := make([]int32, 0, len(perms)*n)
	for _, p := range perms {
		for _, cell := range p {
			rows = append(rows, int32(cell/grid))
			cols = append(cols, int32(cell%grid))
		}
	}
	lookup := func(table []int32) *graph.Node { // [n, B]
		t := graph.Const(g, table)
		idx := graph.Add(graph.MulScalar(graph.Reshape(labels, 1, b), float64(n)), graph.Iota(g, shapes.Make(dtypes.Int32, n, 1), 0))
		return graph.ConvertDType(graph.Gather(t, graph.InsertAxes(idx, -1)), x.DType())
	}
	y0 := graph.Add(graph.Add(originY, graph.MulScalar(lookup(rows), float64(cellH))), jitterY)
	x0 := graph.Add(graph.Add(originX, graph.MulScalar(lookup(cols), float64(cellW))), jitterX)
	size := func(v int) *graph.Node { return graph.BroadcastToDims(graph.Scalar(g, x.DType(), v), n*b) }
	boxes := graph.Stack([]*graph.Node{graph.Reshape(y0, n*b), graph.Reshape(x0, n*b), size(tileH), size(tileW)}, 1)

	// Every position's tile is cut from a copy of the batch: integer boxes of the output
	// size make CropResize an exact copy of the pixels.
	copies := graph.Reshape(graph.BroadcastToDims(graph.InsertAxes(x, 0), n, b, h, w, c), n*b, h, w, c)
	tiles = augment.CropResize(copies, boxes, outH, outW)
	if m.NormalizeTiles {
		mean := graph.ReduceAndKeep(tiles, graph.ReduceMean, 1, 2, 3)
		centred := graph.Sub(tiles, mean)
		variance := graph.ReduceAndKeep(graph.Square(centred), graph.ReduceMean, 1, 2, 3)
		tiles = graph.Div(centred, graph.Sqrt(graph.AddScalar(variance, jigsawTileEpsilon)))
	}
	return tiles, labels
}

// jigsawTileEpsilon is added to each tile's variance when standardising it, so that a
// uniform tile (background) maps to zeros.
const jigsawTileEpsilon = 1e-4

var (
	jigsawPermsMu    sync.Mutex
	jigsawPermsCache = map[[2]int][][]int{}
)

// JigsawPermutations returns the fixed permutation set of the jigsaw task: n permutations
// of the grid·grid cells (grid 2 or 3), chosen greedily so that they are far apart in
// Hamming distance (the number of positions at which two permutations differ). It is
// deterministic: the same set on every call and machine.
//
// The selection follows Noroozi & Favaro's Algorithm 1 with the choice made on the
// minimum instead of the sum of distances: starting from the identity (the paper starts
// from a random permutation), repeatedly add the permutation whose minimum Hamming
// distance to the chosen ones is largest, ties broken by the largest sum of distances
// (the paper's criterion) and then by the lexicographic order. The minimum keeps any two
// chosen permutations well apart, which a sum alone does not guarantee.
// For grid 3 and n = 100 the minimum pairwise distance is 6 of 9 positions
// (TestJigsawPermutations computes it). The set is computed once per (grid, n), in
// about a second for grid 3.
func JigsawPermutations(grid, n int) ([][]int, error) {
	if grid != 2 && grid != 3 {
		return nil, fmt.Errorf("ssl: jigsaw: Grid must be 2 or 3, got %d", grid)
	}
	cells := grid * grid
	total := 1
	for i := 2; i <= cells; i++ {
		total *= i
	}
	if n < 1 || n > total {
		return nil, fmt.Errorf("ssl: jigsaw: Permutations must be in [1, %d] for a %dx%d grid, got %d", total, grid, grid, n)
	}
	jigsawPermsMu.Lock()
	defer jigsawPermsMu.Unlock()
	key := [2]int{grid, n}
	if p, ok := jigsawPermsCache[key]; ok {
		return clonePerms(p), nil
	}
	all := allPermutations(cells) // lexicographic order, flat; the first one is the identity
	minDist := make([]int8, total)
	sumDist := make([]int32, total)
	chosen := make([]bool, total)
	for i := range minDist {
		minDist[i] = math.MaxInt8
	}
	pick := 0
	out := make([][]int, 0, n)
	for len(out) < n {
		chosen[pick] = true
		p := all[pick*cells : (pick+1)*cells]
		perm := make([]int, cells)
		for k, v := range p {
			perm[k] = int(v)
		}
		out = append(out, perm)
		best := -1
		for i := range total {
			if chosen[i] {
				continue
			}
			q := all[i*cells : (i+1)*cells]
			d := int8(0)
			for k := range p {
				if p[k] != q[k] {
					d++
				}
			}
			minDist[i] = min(minDist[i], d)
			sumDist[i] += int32(d)
			if best < 0 || minDist[i] > minDist[best] || minDist[i] == minDist[best] && sumDist[i] > sumDist[best] {
				best = i
			}
		}
		pick = best
	}
	jigsawPermsCache[key] = out
	return clonePerms(out), nil
}

// allPermutations lists the n! permutations of 0…n−1 in lexicographic order, flattened:
// permutation i is out[i·n : (i+1)·n].
func allPermutations(n int) []uint8 {
	var out []uint8
	p := make([]uint8, n)
	for i := range p {
		p[i] = uint8(i)
	}
	for {
		out = append(out, p...)
		// Next permutation in lexicographic order.
		i := n - 2
		for i >= 0 && p[i] >= p[i+1] {
			i--
		}
		if i < 0 {
			return out
		}
		j := n - 1
		for p[j] <= p[i] {
			j--
		}
		p[i], p[j] = p[j], p[i]
		for l, r := i+1, n-1; l < r; l, r = l+1, r-1 {
			p[l], p[r] = p[r], p[l]
		}
	}
}

func clonePerms(p [][]int) [][]int {
	out := make([][]int, len(p))
	for i := range p {
		out[i] = append([]int(nil), p[i]...)
	}
	return out
}

func init() { Register("jigsaw", func() Method { return NewJigsaw() }) }
