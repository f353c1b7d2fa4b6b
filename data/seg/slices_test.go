package seg

import (
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/medssl/medssl/data"
)

func TestPercentileMatchesNumpy(t *testing.T) {
	// numpy.percentile([4, 1, 3, 2, nan-free...], q) with linear interpolation.
	vals := []float32{4, 1, float32(math.NaN()), 3, 2, float32(math.Inf(1))}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {50, 2.5}, {100, 4}, {25, 1.75}, {99.5, 3.985}} {
		if got := Percentile(vals, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Percentile(q=%v) = %v, want %v", c.q, got, c.want)
		}
	}
}

// TestSlicesAlignWithVolumes checks, pixel by pixel on the real fixture volumes (identity
// affines, RAS), that every axial slice's image and mask are the volume's voxels at the
// position the plane's definition gives (rows anterior to posterior: j = Ny−1−r; columns
// right to left: i = Nx−1−c; slice s: k = s), shifted by the centring offset, with the
// percentile window; that padding is 0 in both; and that Restack of the masks gives the
// label grid back. Sizes are chosen to pad rows and crop columns.
func TestSlicesAlignWithVolumes(t *testing.T) {
	s := loadHippocampus(t)
	cfg := DefaultSliceConfig(56, 30) // Ny 47..53 padded to 56, Nx 32..34 cropped to 30
	sl, err := s.Slices(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(sl.Stacks) != len(s.Cases) {
		t.Fatalf("%d stacks for %d cases", len(sl.Stacks), len(s.Cases))
	}
	total := 0
	for ci, c := range s.Cases {
		st := &sl.Stacks[ci]
		d := c.Image.Dims
		if st.Count != d[2] || st.Rows != d[1] || st.Cols != d[0] || st.First != total || st.Spacing != [3]float64{1, 1, 1} {
			t.Fatalf("%s: stack %+v for dims %v", c.Name, *st, d)
		}
		total += st.Count
		lo, hi := Percentile(c.Image.Data, 0.5), Percentile(c.Image.Data, 99.5)
		w := data.Window{Center: (lo + hi) / 2, Width: hi - lo}
		wantTop, wantLeft := (56-d[1])/2, -((d[0] - 30) / 2)
		if st.Top != wantTop || st.Left != wantLeft {
			t.Errorf("%s: offsets (%d, %d), want (%d, %d)", c.Name, st.Top, st.Left, wantTop, wantLeft)
		}
		for k := range d[2] {
			img, mask := sl.Image(st.First+k), sl.Mask(st.First+k)
			for y := range 56 {
				for x := range 30 {
					r, col := y-st.Top, x-st.Left
					var wantImg, wantMask uint8
					if r >= 0 && r < d[1] && col >= 0 && col < d[0] {
						i, j := d[0]-1-col, d[1]-1-r
						n := i + d[0]*(j+d[1]*k)
						wantImg, wantMask = w.Gray(float64(c.Image.Data[n])), c.Labels[n]
					}
					if img[y*30+x] != wantImg || mask[y*30+x] != wantMask {
						t.Fatalf("%s slice %d pixel (%d, %d): image %d mask %d, want %d %d",
							c.Name, k, y, x, img[y*30+x], mask[y*30+x], wantImg, wantMask)
					}
				}
			}
		}
		// Restack: inside the kept columns the masks give the truth back; cropped columns
		// come back as background.
		back, err := sl.Restack(st, sl.Masks[st.First*56*30:(st.First+st.Count)*56*30])
		if err != nil {
			t.Fatal(err)
		}
		for n, v := range back {
			col := n % st.Cols
			want := st.Truth[n]
			if x := col + st.Left; x < 0 || x >= 30 {
				want = 0
			}
			if v != want {
				t.Fatalf("%s: restacked grid value %d = %d, want %d", c.Name, n, v, want)
			}
		}
	}
	if sl.N() != total {
		t.Errorf("%d slices, stacks count %d", sl.N(), total)
	}
	if _, err := s.Slices(SliceConfig{Plane: data.Axial, Height: 0, Width: 4}); !errors.Is(err, data.ErrArgument) {
		t.Errorf("size 0: %v, want ErrArgument", err)
	}
}

// TestBatchesServeAlignedPairs: a batch's image and mask tensors are the slices' bytes
// (image/255, mask as int32), and epochs cover every slice.
func TestBatchesServeAlignedPairs(t *testing.T) {
	s := loadHippocampus(t)
	sl, err := s.Slices(DefaultSliceConfig(56, 40))
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatches(sl, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	order := data.ShuffledOrder(sl.N(), 3, 0)
	steps := 0
	for batch, err := range b.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		img := tensors.MustCopyFlatData[float32](batch.Inputs[0])
		mask := tensors.MustCopyFlatData[int32](batch.Inputs[1])
		if d := batch.Inputs[0].Shape().Dimensions; len(d) != 4 || d[0] != 16 || d[1] != 56 || d[2] != 40 || d[3] != 1 {
			t.Fatalf("images shape %v", d)
		}
		for bi := range 16 {
			i := order[steps*16+bi]
			for k, v := range sl.Image(i) {
				if img[bi*56*40+k] != float32(v)/255 || mask[bi*56*40+k] != int32(sl.Mask(i)[k]) {
					t.Fatalf("batch %d row %d pixel %d differs from slice %d", steps, bi, k, i)
				}
			}
		}
		batch.Finalize()
		if steps++; steps == 3 {
			break
		}
	}
	if _, err := NewBatches(sl, sl.N()+1, 1); !errors.Is(err, data.ErrArgument) {
		t.Errorf("batch larger than the set: %v, want ErrArgument", err)
	}
}

// writePNG writes a grey or palette PNG.
func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(fh, img); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func grey(w, h int, f func(x, y int) uint8) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{f(x, y)})
		}
	}
	return img
}

// TestLoad2D: binary 0/255 masks become classes 0/1, palette masks keep their indices,
// the axial slice of a 2D case is the image as stored, and bad masks name their file.
func TestLoad2D(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "images", "a.png"), grey(5, 4, func(x, y int) uint8 { return uint8(10*x + y) }))
	writePNG(t, filepath.Join(dir, "masks", "a_mask.png"), grey(5, 4, func(x, y int) uint8 { return 255 * uint8((x+y)%2) }))
	s, err := Load2D(dir, MaskSuffix("_mask"))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := s.Slices(SliceConfig{Plane: data.Axial, Height: 4, Width: 5})
	if err != nil {
		t.Fatal(err)
	}
	for y := range 4 {
		for x := range 5 {
			if sl.Image(0)[y*5+x] != uint8(10*x+y) || sl.Mask(0)[y*5+x] != uint8((x+y)%2) {
				t.Fatalf("pixel (%d, %d): image %d mask %d", x, y, sl.Image(0)[y*5+x], sl.Mask(0)[y*5+x])
			}
		}
	}
	if s.NumClasses != 2 {
		t.Errorf("binary masks: %d classes, want 2", s.NumClasses)
	}

	idx := t.TempDir()
	pal := image.NewPaletted(image.Rect(0, 0, 3, 2), color.Palette{color.Black, color.White, color.Gray{90}})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(i % 3)
	}
	writePNG(t, filepath.Join(idx, "images", "p.png"), grey(3, 2, func(x, y int) uint8 { return 1 }))
	writePNG(t, filepath.Join(idx, "masks", "p.png"), pal)
	s, err = Load2D(idx)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range s.Cases[0].Labels {
		if v != uint8(i%3) {
			t.Fatalf("palette mask value %d = %d, want %d", i, v, i%3)
		}
	}

	bad := t.TempDir()
	writePNG(t, filepath.Join(bad, "images", "b.png"), grey(3, 2, func(x, y int) uint8 { return 1 }))
	writePNG(t, filepath.Join(bad, "masks", "b.png"), grey(3, 2, func(x, y int) uint8 { return 255 }))
	writePNG(t, filepath.Join(bad, "images", "c.png"), grey(3, 2, func(x, y int) uint8 { return 1 }))
	writePNG(t, filepath.Join(bad, "masks", "c.png"), grey(3, 2, func(x, y int) uint8 { return uint8(x) }))
	if _, err := Load2D(bad); !errors.Is(err, data.ErrLabel) || !strings.Contains(err.Error(), "masks/b.png") {
		t.Errorf("0/255 mask among indexed ones: %v, want ErrLabel naming masks/b.png", err)
	}
	writePNG(t, filepath.Join(bad, "masks", "b.png"), grey(4, 2, func(x, y int) uint8 { return 0 }))
	if _, err := Load2D(bad); !errors.Is(err, ErrGeometry) || !strings.Contains(err.Error(), "masks/b.png") {
		t.Errorf("mask of another size: %v, want ErrGeometry naming masks/b.png", err)
	}
}
