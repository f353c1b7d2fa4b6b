package explain

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/medssl/medssl/internal/testutil"
)

// TestUpsampleMatchesPyTorch checks Upsample against values PyTorch 1.13 computed once:
//
//	g = torch.tensor([[0., 1., 4.], [2., 8., 3.]]).reshape(1, 1, 2, 3)
//	F.interpolate(g, size=(5, 4), mode="bilinear", align_corners=False)
//
// and against the test's naive bilinear on a 4×4 → 28×28 map.
func TestUpsampleMatchesPyTorch(t *testing.T) {
	want := []float64{
		0.0, 0.625, 2.125, 4.0,
		0.2, 1.1375, 2.525, 3.9,
		1.0, 3.1875, 4.125, 3.5,
		1.8, 5.2375, 5.725, 3.1,
		2.0, 5.75, 6.125, 3.0,
	}
	got := Upsample([]float32{0, 1, 4, 2, 8, 3}, 2, 3, 5, 4)
	for i := range want {
		if math.Abs(float64(got[i])-want[i]) > 1e-6 {
			t.Fatalf("value %d: %v, PyTorch %v", i, got[i], want[i])
		}
	}
	grid := make([]float32, 16)
	ref := make([]float64, 16)
	for i := range grid {
		grid[i] = float32((i * 7) % 5)
		ref[i] = float64(grid[i])
	}
	up, naive := Upsample(grid, 4, 4, 28, 28), naiveBilinear(ref, 4, 4, 28, 28)
	for i := range up {
		if math.Abs(float64(up[i])-naive[i]) > 1e-5 {
			t.Fatalf("28 px value %d: %v, naive %v", i, up[i], naive[i])
		}
	}
}

func TestNormalise(t *testing.T) {
	heat, zero := Normalise([]float32{0, 2, -1, 4})
	if zero || !slices.Equal(heat, []float32{0, 0.5, 0, 1}) {
		t.Errorf("Normalise = %v, %v; want [0 0.5 0 1], false", heat, zero)
	}
	heat, zero = NormaliseRange([]float32{2, 3, 6})
	if zero || !slices.Equal(heat, []float32{0, 0.25, 1}) {
		t.Errorf("NormaliseRange = %v, %v; want [0 0.25 1], false", heat, zero)
	}
	if heat, zero := NormaliseRange([]float32{0.3, 0.3}); !zero || heat[0] != 0 {
		t.Errorf("NormaliseRange of a constant = %v, %v; want zeros, true", heat, zero)
	}
	for _, flat := range [][]float32{{0, 0, 0}, {-1, -2, 0}, {float32(math.Inf(1)), 1, 0}} {
		heat, zero := Normalise(flat)
		if !zero || slices.ContainsFunc(heat, func(v float32) bool { return v != 0 }) {
			t.Errorf("Normalise(%v) = %v, %v; want zeros, true", flat, heat, zero)
		}
	}
}

// Viridis's ends are the published #440154 and #FDE725; the overlay is the rounded
// half-and-half blend of grey and colour, and it survives a PNG round trip unchanged.
func TestOverlayRoundTrip(t *testing.T) {
	if c := Viridis(0); c != (color.RGBA{0x44, 0x01, 0x54, 255}) {
		t.Errorf("Viridis(0) = %v, want #440154", c)
	}
	if c := Viridis(1); c != (color.RGBA{0xFD, 0xE7, 0x25, 255}) {
		t.Errorf("Viridis(1) = %v, want #FDE725", c)
	}
	if Viridis(-3) != Viridis(0) || Viridis(7) != Viridis(1) || Viridis(float32(math.NaN())) != Viridis(0) {
		t.Error("Viridis does not clamp")
	}
	const h, w = 3, 5
	gray, heat := make([]float32, h*w), make([]float32, h*w)
	for i := range gray {
		gray[i], heat[i] = float32(i)/float32(h*w-1), float32(h*w-1-i)/float32(h*w-1)
	}
	img, err := Overlay(gray, heat, h, w)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "overlay.png")
	if err := WritePNG(path, img); err != nil {
		t.Fatal(err)
	}
	decoded := decodePNG(t, path)
	for i := range h * w {
		c := Viridis(heat[i])
		want := func(v uint8) uint32 {
			return uint32(math.Round(255 * (0.5*float64(gray[i]) + 0.5*float64(v)/255)))
		}
		r, g, b, a := decoded.At(i%w, i/w).RGBA()
		if r>>8 != want(c.R) || g>>8 != want(c.G) || b>>8 != want(c.B) || a>>8 != 255 {
			t.Fatalf("pixel %d: %d %d %d %d, want %d %d %d 255", i, r>>8, g>>8, b>>8, a>>8, want(c.R), want(c.G), want(c.B))
		}
	}
	if _, err := Overlay(gray[:4], heat, h, w); err == nil {
		t.Error("overlay of mismatched sizes accepted")
	}
}

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Every cell of a written grid holds its image magnified by Scale, pixel for pixel; empty
// cells are grey; text is drawn outside the cells.
func TestGridRoundTrip(t *testing.T) {
	const h, w, scale = 4, 3, 5
	cellImage := func(seed int) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for i := range h * w {
			img.SetRGBA(i%w, i/w, color.RGBA{uint8(seed * 40), uint8(i * 20), uint8(255 - i*10), 255})
		}
		return img
	}
	g := &Grid{Title: "a grid", Columns: []string{"one", "two", "three"}, Rows: []string{"#1 label 0", "#2 label 1"}, Scale: scale, Colorbar: true}
	for r := range 2 {
		g.Cells = append(g.Cells, []Cell{{Image: cellImage(r * 3), Caption: "x"}, {Image: cellImage(r*3 + 1)}, {Caption: "none"}})
	}
	path := filepath.Join(t.TempDir(), "grid.png")
	if err := WriteGrid(path, g); err != nil {
		t.Fatal(err)
	}
	_, cells, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	out := decodePNG(t, path)
	inCell := func(p image.Point) bool {
		for _, row := range cells {
			for _, c := range row {
				if p.In(c) {
					return true
				}
			}
		}
		return false
	}
	for r, row := range cells {
		for c, rect := range row {
			if rect.Dx() != w*scale || rect.Dy() != h*scale || !rect.In(out.Bounds()) {
				t.Fatalf("cell (%d, %d) at %v in a %v picture", r, c, rect, out.Bounds())
			}
			cell := g.Cells[r][c].Image
			for y := rect.Min.Y; y < rect.Max.Y; y++ {
				for x := rect.Min.X; x < rect.Max.X; x++ {
					got := color.RGBAModel.Convert(out.At(x, y)).(color.RGBA)
					if cell == nil {
						// An empty cell is light grey, but for its caption in the middle:
						// check its top and bottom rows.
						if y == rect.Min.Y || y == rect.Max.Y-1 {
							if got != (color.RGBA{0xEE, 0xEE, 0xEE, 255}) {
								t.Fatalf("empty cell (%d, %d) pixel (%d, %d) = %v", r, c, x, y, got)
							}
						}
						continue
					}
					if want := cell.At((x-rect.Min.X)/scale, (y-rect.Min.Y)/scale).(color.RGBA); got != want {
						t.Fatalf("cell (%d, %d) pixel (%d, %d) = %v, want %v", r, c, x, y, got, want)
					}
				}
			}
		}
	}
	// Text (title, column titles, row labels) leaves dark pixels outside the cells.
	darkOutside := 0
	b := out.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if !inCell(image.Pt(x, y)) && dark(color.RGBAModel.Convert(out.At(x, y)).(color.RGBA)) {
				darkOutside++
			}
		}
	}
	if darkOutside < 50 {
		t.Errorf("only %d dark pixels outside the cells: no text drawn?", darkOutside)
	}
	bad := &Grid{Columns: []string{"a"}, Rows: []string{"r"}, Cells: [][]Cell{{{Image: cellImage(0)}, {Image: cellImage(1)}}}}
	if _, _, err := bad.Render(); err == nil {
		t.Error("a row with more cells than columns accepted")
	}
}

// dark tells text pixels (anti-aliased black) from the background.
func dark(c color.RGBA) bool { return int(c.R)+int(c.G)+int(c.B) < 3*128 }

func TestChooseImages(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	a, err := ChooseImages(ds.Test, 3, 11)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ChooseImages(ds.Test, 3, 11)
	c, _ := ChooseImages(ds.Test, 3, 12)
	if !slices.Equal(a.Indices, b.Indices) {
		t.Errorf("same seed, different images: %v, %v", a.Indices, b.Indices)
	}
	if slices.Equal(a.Indices, c.Indices) {
		t.Errorf("seeds 11 and 12 chose the same images %v", a.Indices)
	}
	if len(a.Indices) != 6 || a.Images.N != 6 {
		t.Fatalf("%d images, want 3 of each of 2 classes", len(a.Indices))
	}
	for r, i := range a.Indices {
		if want := r / 3; ds.Test.Label(i) != want || a.Images.Label(r) != want {
			t.Errorf("row %d: image %d of class %d, want class %d", r, i, ds.Test.Label(i), want)
		}
		if !slices.Equal(a.Images.Image(r), ds.Test.Image(i)) {
			t.Errorf("row %d does not hold image %d", r, i)
		}
		if r%3 > 0 && a.Indices[r-1] >= i {
			t.Errorf("indices within a class not increasing: %v", a.Indices)
		}
	}
	if labels := a.RowLabels(); labels[0] != fmt.Sprintf("#%d label 0", a.Indices[0]) {
		t.Errorf("row label %q", labels[0])
	}
	all, _ := ChooseImages(ds.Test, 10000, 1)
	if all.Images.N != ds.Test.N {
		t.Errorf("perClass beyond the class sizes gave %d of %d images", all.Images.N, ds.Test.N)
	}
	if _, err := ChooseImages(ds.Test, 0, 1); err == nil {
		t.Error("0 images per class accepted")
	}
}
