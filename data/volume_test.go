package data

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// volTestVolume makes an nx*ny*nz volume whose voxel (i,j,k) holds 100*i + 10*j + k, so
// every voxel is identifiable, with the given affine.
func volTestVolume(nx, ny, nz int, affine [4][4]float64) *Volume {
	v := &Volume{Dims: [4]int{nx, ny, nz, 1}, Affine: affine, Data: make([]float32, nx*ny*nz)}
	for k := range nz {
		for j := range ny {
			for i := range nx {
				v.Data[i+nx*(j+ny*k)] = float32(100*i + 10*j + k)
			}
		}
	}
	v.Spacing = VolumeSpacing(affine)
	return v
}

var volIdentity = [4][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}

// volWin is a window under which every test value (0..999) keeps a distinct grey level:
// grey = x/4 rounded, since Center-Width/2 = 0 and 255/Width = 1/4.
var volWin = Window{Center: 510, Width: 1020}

func TestWindowGray(t *testing.T) {
	w := Window{Center: 40, Width: 80} // [0, 80] -> [0, 255]
	for _, c := range []struct {
		x    float64
		want uint8
	}{{-1000, 0}, {0, 0}, {40, 128}, {80, 255}, {1000, 255}, {20, 64}, {math.NaN(), 0}} {
		// 255*20/80 = 63.75 -> 64; 255*40/80 = 127.5 -> 128 (round half away from zero).
		if got := w.Gray(c.x); got != c.want {
			t.Errorf("Gray(%v) = %d, want %d", c.x, got, c.want)
		}
	}
	if WindowCTLung != (Window{-600, 1500}) || WindowCTMediastinum != (Window{50, 350}) ||
		WindowCTBrain != (Window{40, 80}) || WindowCTBone != (Window{400, 1800}) {
		t.Errorf("presets changed: %v %v %v %v", WindowCTLung, WindowCTMediastinum, WindowCTBrain, WindowCTBone)
	}
}

// volNaive computes a slice by the plane's definition written out for an affine whose
// axes are (i->x, j->y, k->z) with signs sx, sy, sz: a position p counted toward
// increasing world coordinate on an axis of n voxels is voxel p if the sign is +, else
// n-1-p.
func volNaive(v *Volume, p Plane, s int, sx, sy, sz int, w Window) []uint8 {
	pos := func(p, n, sign int, incr bool) int {
		if (sign > 0) == incr {
			return p
		}
		return n - 1 - p
	}
	nx, ny, nz := v.Dims[0], v.Dims[1], v.Dims[2]
	var out []uint8
	switch p {
	case Axial: // rows: y decreasing; cols: x decreasing; slice: z increasing
		k := pos(s, nz, sz, true)
		for r := range ny {
			for c := range nx {
				out = append(out, w.Gray(float64(v.At(pos(c, nx, sx, false), pos(r, ny, sy, false), k, 0))))
			}
		}
	case Coronal: // rows: z decreasing; cols: x decreasing; slice: y increasing
		j := pos(s, ny, sy, true)
		for r := range nz {
			for c := range nx {
				out = append(out, w.Gray(float64(v.At(pos(c, nx, sx, false), j, pos(r, nz, sz, false), 0))))
			}
		}
	case Sagittal: // rows: z decreasing; cols: y decreasing; slice: x increasing
		i := pos(s, nx, sx, true)
		for r := range nz {
			for c := range ny {
				out = append(out, w.Gray(float64(v.At(i, pos(c, ny, sy, false), pos(r, nz, sz, false), 0))))
			}
		}
	}
	return out
}

func TestVolumeSlicesOrientation(t *testing.T) {
	const nx, ny, nz = 4, 3, 5
	for _, signs := range [][3]int{{1, 1, 1}, {-1, -1, 1}, {-1, 1, -1}} {
		a := volIdentity
		a[0][0], a[1][1], a[2][2] = 0.8*float64(signs[0]), 0.8*float64(signs[1]), 2.5*float64(signs[2])
		v := volTestVolume(nx, ny, nz, a)
		for _, p := range []Plane{Axial, Coronal, Sagittal} {
			sp, err := v.Slices(p, volWin)
			if err != nil {
				t.Fatal(err)
			}
			wantN := map[Plane]int{Axial: nz, Coronal: ny, Sagittal: nx}[p]
			if sp.N != wantN || sp.Channels != 1 || sp.Name != p.String() || len(sp.Labels) != wantN {
				t.Fatalf("%v %v: N=%d C=%d name=%q, want N=%d", signs, p, sp.N, sp.Channels, sp.Name, wantN)
			}
			for s := range sp.N {
				want := volNaive(v, p, s, signs[0], signs[1], signs[2], volWin)
				if !slices.Equal(sp.Image(s), want) {
					t.Fatalf("signs %v %v slice %d:\n got %v\nwant %v", signs, p, s, sp.Image(s), want)
				}
			}
		}
	}
}

// A DICOM-style axial series (i toward patient left, j toward posterior: RAS diag(-1,-1,1))
// must give its stored frames unchanged as axial slices.
func TestVolumeSlicesDICOMAxialIsStoredFrame(t *testing.T) {
	a := volIdentity
	a[0][0], a[1][1] = -1, -1
	v := volTestVolume(4, 3, 2, a)
	sp, err := v.Slices(Axial, volWin)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 2 {
		for j := range 3 {
			for i := range 4 {
				if got, want := sp.Image(k)[j*4+i], volWin.Gray(float64(100*i+10*j+k)); got != want {
					t.Fatalf("slice %d row %d col %d = %d, want %d", k, j, i, got, want)
				}
			}
		}
	}
}

// A sagittal acquisition: i runs toward anterior (+y), j toward inferior (-z), k toward
// the right (+x). Axial slice s (z increasing) is voxel j = nz-1-s; its row r (A->P) is
// i = ny-1-r; its column c (R->L) is k = nx-1-c.
func TestVolumeSlicesPermutedAxes(t *testing.T) {
	a := [4][4]float64{{0, 0, 1, 0}, {1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 0, 1}}
	v := volTestVolume(3, 4, 5, a) // i: 3 (y), j: 4 (z), k: 5 (x)
	axis, incr := v.Orientation()
	if axis != [3]int{2, 0, 1} || incr != [3]bool{true, true, false} {
		t.Fatalf("Orientation = %v %v", axis, incr)
	}
	sp, err := v.Slices(Axial, volWin)
	if err != nil {
		t.Fatal(err)
	}
	if sp.N != 4 || sp.Height != 3 || sp.Width != 5 {
		t.Fatalf("axial N,H,W = %d,%d,%d, want 4,3,5", sp.N, sp.Height, sp.Width)
	}
	for s := range 4 {
		for r := range 3 {
			for c := range 5 {
				want := volWin.Gray(float64(v.At(3-1-r, 4-1-s, 5-1-c, 0)))
				if got := sp.Image(s)[r*5+c]; got != want {
					t.Fatalf("slice %d (%d,%d) = %d, want %d", s, r, c, got, want)
				}
			}
		}
	}
}

func TestVolumeSliceOptions(t *testing.T) {
	v := volTestVolume(2, 2, 10, volIdentity)
	for _, c := range []struct {
		opts []SliceOption
		want []int
	}{
		{nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{[]SliceOption{SliceEvery(3)}, []int{0, 3, 6, 9}},
		{[]SliceOption{SliceCount(4)}, []int{0, 3, 6, 9}},
		{[]SliceOption{SliceCount(3)}, []int{0, 5, 9}}, // round(4.5) = 5
		{[]SliceOption{SliceCount(1)}, []int{4}},
		{[]SliceOption{SliceCount(20)}, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{[]SliceOption{SliceRange(2, 7)}, []int{2, 3, 4, 5, 6}},
		{[]SliceOption{SliceRange(2, 7), SliceEvery(2)}, []int{2, 4, 6}},
		{[]SliceOption{SliceRange(2, 7), SliceCount(2)}, []int{2, 6}},
	} {
		got, err := v.SliceIndices(Axial, c.opts...)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SliceIndices = %v, %v; want %v", got, err, c.want)
		}
	}
	sp, err := v.Slices(Axial, volWin, SliceEvery(3))
	if err != nil || sp.N != 4 || !slices.Equal(sp.Image(1), volNaive(v, Axial, 3, 1, 1, 1, volWin)) {
		t.Errorf("Slices(SliceEvery(3)) image 1 is not slice 3: %v", err)
	}
	for _, opts := range [][]SliceOption{
		{SliceRange(5, 5)}, {SliceRange(-1, 3)}, {SliceRange(0, 11)}, {SliceEvery(-1)},
		{SliceEvery(2), SliceCount(2)}, {SliceTime(1)},
	} {
		if _, err := v.Slices(Axial, volWin, opts...); !errors.Is(err, ErrArgument) {
			t.Errorf("options %d: err = %v, want ErrArgument", len(opts), err)
		}
	}
	for _, w := range []Window{{0, -1}, {math.NaN(), 10}, {0, math.Inf(1)}} {
		if _, err := v.Slices(Axial, w); !errors.Is(err, ErrArgument) {
			t.Errorf("window %v: err = %v, want ErrArgument", w, err)
		}
	}
	if _, err := v.Slices(Plane(7), volWin); !errors.Is(err, ErrArgument) {
		t.Errorf("bad plane: err = %v", err)
	}
}

func TestVolumeWindowFromFileAndInvert(t *testing.T) {
	v := volTestVolume(2, 2, 2, volIdentity) // values 0..111
	// No window in the file: min-max range [0, 111].
	sp, err := v.Slices(Axial, WindowFromFile)
	if err != nil {
		t.Fatal(err)
	}
	mm := Window{Center: 55.5, Width: 111}
	if got := sp.Image(1); !slices.Equal(got, volNaive(v, Axial, 1, 1, 1, 1, mm)) || !slices.Equal(got, []uint8{255, 25, 232, 2}) {
		// slice 1 (k=1): row 0 is j=1, col 0 is i=1: 111 -> 255; then (i=0,j=1) 11 -> 25.3,
		// (i=1,j=0) 101 -> 232.0, (i=0,j=0) 1 -> 2.3.
		t.Errorf("min-max window: got %v", got)
	}
	v.Window = Window{Center: 50, Width: 20}
	v.Invert = true
	sp, err = v.Slices(Axial, WindowFromFile)
	if err != nil {
		t.Fatal(err)
	}
	want := volNaive(v, Axial, 0, 1, 1, 1, v.Window)
	for i := range want {
		want[i] = 255 - want[i]
	}
	if !slices.Equal(sp.Image(0), want) {
		t.Errorf("inverted file window: got %v want %v", sp.Image(0), want)
	}
}

func TestVolumeFourD(t *testing.T) {
	v := &Volume{Dims: [4]int{2, 1, 1, 3}, Affine: volIdentity, Data: []float32{0, 1, 10, 11, 20, 21}}
	if v.At(1, 0, 0, 2) != 21 {
		t.Fatalf("At = %v", v.At(1, 0, 0, 2))
	}
	sp, err := v.Slices(Axial, Window{Center: 12.75, Width: 25.5}, SliceTime(1)) // grey = 10*x
	if err != nil {
		t.Fatal(err)
	}
	// Axial columns run x decreasing: (i=1, i=0) -> (11, 10) -> grey (110, 100).
	if !slices.Equal(sp.Image(0), []uint8{110, 100}) {
		t.Errorf("t=1 slice = %v", sp.Image(0))
	}
}

func TestVolumeValidate(t *testing.T) {
	good := volTestVolume(2, 2, 2, volIdentity)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := []*Volume{
		{Dims: [4]int{2, 2, 2, 0}, Affine: volIdentity},
		{Dims: [4]int{2, 2, 2, 1}, Affine: volIdentity, Data: make([]float32, 7)},
		{Dims: [4]int{1, 1, 1, 1}, Affine: [4][4]float64{}, Data: make([]float32, 1)},
		{Dims: [4]int{1, 1, 1, 1}, Affine: [4][4]float64{{math.NaN(), 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}}, Data: make([]float32, 1)},
	}
	for i, v := range bad {
		if err := v.Validate(); !errors.Is(err, ErrArgument) {
			t.Errorf("volume %d: Validate = %v, want ErrArgument", i, err)
		}
	}
	if s := VolumeSpacing([4][4]float64{{0, 3, 0, 0}, {0, 4, 2, 0}, {1, 0, 0, 0}}); s != [3]float64{1, 5, 2} {
		t.Errorf("VolumeSpacing = %v", s)
	}
	if p := good.World(1, 2, 3); p != [3]float64{1, 2, 3} {
		t.Errorf("World = %v", p)
	}
}

// TestVolumePlaneSpacing: on a volume whose file axes are (k->x, i->y, j->z) with spacings
// 0.5, 2 and 3 mm along i, j, k, each plane's rows, columns and slices run along the world
// axes Plane documents, so they take the spacing of the voxel axis under that world axis.
func TestVolumePlaneSpacing(t *testing.T) {
	affine := [4][4]float64{{0, 0, 3, 0}, {0.5, 0, 0, 0}, {0, 2, 0, 0}, {0, 0, 0, 1}}
	v := volTestVolume(4, 5, 6, affine)
	x, y, z := 3.0, 0.5, 2.0 // spacing along world x, y, z
	for _, c := range []struct {
		p                  Plane
		rows, cols, slices float64
	}{
		{Axial, y, x, z},    // rows anterior-posterior, columns right-left
		{Coronal, z, x, y},  // rows superior-inferior, columns right-left
		{Sagittal, z, y, x}, // rows superior-inferior, columns anterior-posterior
	} {
		r, cl, s, err := v.PlaneSpacing(c.p)
		if err != nil || r != c.rows || cl != c.cols || s != c.slices {
			t.Errorf("%v: PlaneSpacing = %v, %v, %v (%v), want %v, %v, %v", c.p, r, cl, s, err, c.rows, c.cols, c.slices)
		}
	}
	if _, _, _, err := v.PlaneSpacing(Plane(9)); !errors.Is(err, ErrArgument) {
		t.Errorf("unknown plane: %v, want ErrArgument", err)
	}
}
