package ssl

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

func hamming(p, q []int) int {
	d := 0
	for i := range p {
		if p[i] != q[i] {
			d++
		}
	}
	return d
}

func TestJigsawPermutations(t *testing.T) {
	for _, tc := range []struct {
		grid, n, wantMinDist int
	}{{3, 100, 6}, {3, 10, 8}, {2, 24, 2}, {2, 4, 4}} {
		perms, err := JigsawPermutations(tc.grid, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		cells := tc.grid * tc.grid
		if len(perms) != tc.n {
			t.Fatalf("grid %d: %d permutations, want %d", tc.grid, len(perms), tc.n)
		}
		seen := map[string]bool{}
		for i, p := range perms {
			sorted := slices.Sorted(slices.Values(p))
			for k := range sorted {
				if len(p) != cells || sorted[k] != k {
					t.Fatalf("grid %d: entry %d = %v is not a permutation of 0…%d", tc.grid, i, p, cells-1)
				}
			}
			key := fmt.Sprint(p)
			if seen[key] {
				t.Fatalf("grid %d: permutation %v appears twice", tc.grid, p)
			}
			seen[key] = true
		}
		minDist := cells
		for i := range perms {
			for j := i + 1; j < len(perms); j++ {
				minDist = min(minDist, hamming(perms[i], perms[j]))
			}
		}
		t.Logf("grid %d, %d permutations: minimum pairwise Hamming distance %d", tc.grid, tc.n, minDist)
		if minDist < tc.wantMinDist {
			t.Errorf("grid %d, %d permutations: minimum Hamming distance %d, want ≥ %d", tc.grid, tc.n, minDist, tc.wantMinDist)
		}
		if !slices.Equal(perms[0], []int{0, 1, 2, 3, 4, 5, 6, 7, 8}[:cells]) {
			t.Errorf("grid %d: first permutation %v, want the identity", tc.grid, perms[0])
		}
		// Deterministic, and callers cannot corrupt the cached set.
		perms[1][0] = -1
		again, err := JigsawPermutations(tc.grid, tc.n)
		if err != nil {
			t.Fatal(err)
		}
		if again[1][0] == -1 {
			t.Fatal("JigsawPermutations returned its cached slices")
		}
		perms[1][0] = again[1][0]
		for i := range perms {
			if !slices.Equal(perms[i], again[i]) {
				t.Fatalf("grid %d: second call differs at %d: %v vs %v", tc.grid, i, perms[i], again[i])
			}
		}
	}
	for _, bad := range [][2]int{{4, 10}, {1, 1}, {3, 0}, {2, 25}} {
		if _, err := JigsawPermutations(bad[0], bad[1]); err == nil {
			t.Errorf("JigsawPermutations(%d, %d) accepted", bad[0], bad[1])
		}
	}
}

// jigsawTilesOnce runs m.shuffledTiles on the first b BreastMNIST images.
func jigsawTilesOnce(t *testing.T, m *Jigsaw, b int) (imgs, tiles []float32, tileDims []int, labels []int32) {
	t.Helper()
	perms, err := JigsawPermutations(m.Grid, m.Permutations)
	if err != nil {
		t.Fatal(err)
	}
	imgs, x := pretextImages(t, b)
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(5); err != nil {
		t.Fatal(err)
	}
	outs, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		tl, l := m.shuffledTiles(scope, x, perms)
		return []*graph.Node{tl, l}
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	return imgs, tensors.MustCopyFlatData[float32](outs[0]), outs[0].Shape().Dimensions, tensors.MustCopyFlatData[int32](outs[1])
}

// Tile j of image b must be a crop of image b's cell perms[label_b][j]: exactly the cell for
// a 2×2 grid without gap, an 8×8 crop at an offset within the cell's 0–2 pixel range for
// the default 3×3 grid on 28 px (grid origin 0–1 plus jitter 0–1).
func TestJigsawTilesAreShuffledCells(t *testing.T) {
	const b = 16
	for _, tc := range []struct {
		m          *Jigsaw
		tile, cell int
		maxOffset  int
	}{
		{&Jigsaw{Grid: 2, Permutations: 24, TileFraction: 1, Hidden: 8}, 14, 14, 0},
		{&Jigsaw{Grid: 3, Permutations: 100, TileFraction: 64.0 / 75.0, Hidden: 8}, 8, 9, 2},
	} {
		perms, _ := JigsawPermutations(tc.m.Grid, tc.m.Permutations)
		imgs, tiles, dims, labels := jigsawTilesOnce(t, tc.m, b)
		n := tc.m.Grid * tc.m.Grid
		if !slices.Equal(dims, []int{n * b, tc.tile, tc.tile, 1}) || len(labels) != b {
			t.Fatalf("grid %d: tiles %v and %d labels, want [%d %d %d 1] and %d", tc.m.Grid, dims, len(labels), n*b, tc.tile, tc.tile, b)
		}
		offsets := map[[2]int]bool{}
		for j := 0; j < n; j++ {
			for s := 0; s < b; s++ {
				tile := tiles[(j*b+s)*tc.tile*tc.tile : (j*b+s+1)*tc.tile*tc.tile]
				cell := perms[labels[s]][j]
				row, col := cell/tc.m.Grid*tc.cell, cell%tc.m.Grid*tc.cell
				found := false
				for oy := 0; oy <= tc.maxOffset && !found; oy++ {
					for ox := 0; ox <= tc.maxOffset && !found; ox++ {
						match := true
						for i := 0; i < tc.tile && match; i++ {
							for k := 0; k < tc.tile; k++ {
								if tile[i*tc.tile+k] != imgs[s*784+(row+oy+i)*28+col+ox+k] {
									match = false
									break
								}
							}
						}
						if match {
							found = true
							offsets[[2]int{oy, ox}] = true
						}
					}
				}
				if !found {
					t.Fatalf("grid %d: tile at position %d of image %d (label %d) is not a crop of cell %d", tc.m.Grid, j, s, labels[s], cell)
				}
			}
		}
		if tc.maxOffset > 0 && len(offsets) < 4 {
			t.Errorf("grid %d: tiles used only the offsets %v: jitter missing", tc.m.Grid, offsets)
		}
	}
}

// NormalizeTiles standardises each tile: (x − mean)/√(var + ε) over its pixels, checked
// against the raw tiles drawn with the same seed; TileSize resizes them.
func TestJigsawTileNormalisationAndResize(t *testing.T) {
	raw := &Jigsaw{Grid: 3, Permutations: 100, TileFraction: 64.0 / 75.0, Hidden: 8}
	norm := *raw
	norm.NormalizeTiles = true
	_, rawTiles, _, rawLabels := jigsawTilesOnce(t, raw, 8)
	_, normTiles, _, normLabels := jigsawTilesOnce(t, &norm, 8)
	if !slices.Equal(rawLabels, normLabels) {
		t.Fatal("same seed drew different labels")
	}
	const px = 64
	for tIdx := 0; tIdx < len(rawTiles)/px; tIdx++ {
		r := rawTiles[tIdx*px : (tIdx+1)*px]
		mean, variance := 0.0, 0.0
		for _, v := range r {
			mean += float64(v)
		}
		mean /= px
		for _, v := range r {
			variance += (float64(v) - mean) * (float64(v) - mean)
		}
		variance /= px
		for i, v := range r {
			want := (float64(v) - mean) / math.Sqrt(variance+jigsawTileEpsilon)
			if got := float64(normTiles[tIdx*px+i]); math.Abs(got-want) > 1e-3 {
				t.Fatalf("tile %d pixel %d: normalised %v, want %v", tIdx, i, got, want)
			}
		}
	}
	big := norm
	big.TileSize = 16
	_, _, dims, _ := jigsawTilesOnce(t, &big, 4)
	if !slices.Equal(dims, []int{36, 16, 16, 1}) {
		t.Errorf("TileSize 16: tiles %v, want [36 16 16 1]", dims)
	}
}

// The default jigsaw runs ResNet-18 (width 8, small-image stem) on its 8×8 tiles, and on
// tiles resized to 16×16; the small encoder on a 2×2 grid.
func TestJigsawLossIsFinite(t *testing.T) {
	l := pretextLossOnce(t, NewJigsaw(), models.ResNetFor(18, 28).Width(8), 8)
	t.Logf("initial jigsaw loss %.3f (log 100 = %.3f)", l, math.Log(100))
	resized := NewJigsaw()
	resized.TileSize = 16
	pretextLossOnce(t, resized, models.ResNetFor(18, 28).Width(8), 4)
	small := NewJigsaw()
	small.Grid, small.Permutations = 2, 24
	pretextLossOnce(t, small, testutil.SmallEncoder{Width: 16}, 8)
}

// The jigsaw loss must fall on real BreastMNIST images within 100 steps (batch 64, means
// over 10 steps as it is noisy), and below chance, log 100 ≈ 4.61: the network then
// solves puzzles better than guessing, not only calibrates its classifier.
func TestJigsawLossFallsOnBreastMNIST(t *testing.T) {
	last := pretextLossFalls(t, NewJigsaw(), 32, 100, 64, 10, 0.3)
	if chance := math.Log(100); !(last < chance-0.05) {
		t.Errorf("jigsaw loss %.4f after 100 steps is not below chance log 100 = %.4f", last, chance)
	}
}

// The jigsaw task's permutation set is fixed: the same on every machine.
func ExampleJigsawPermutations() {
	perms, err := JigsawPermutations(3, 100)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(perms))
	for _, p := range perms[:3] {
		fmt.Println(p)
	}
	// Output:
	// 100
	// [0 1 2 3 4 5 6 7 8]
	// [1 0 3 2 5 4 7 8 6]
	// [2 3 0 1 6 7 8 4 5]
}
