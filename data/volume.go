package data

import (
	"fmt"
	"math"
)

// Volume is a 3D (or 4D) scan in physical units, as read from DICOM (package data/dicom)
// or NIfTI (package data/nifti).
//
// Conventions, the same whatever the source file:
//   - Voxels are float32 after the file's rescale (DICOM RescaleSlope/Intercept, NIfTI
//     scl_slope/scl_inter): Hounsfield units for CT.
//   - Dims is (Nx, Ny, Nz, Nt): i runs along x fastest, then j, k, t, so voxel (i,j,k,t)
//     is Data[i + Nx*(j + Ny*(k + Nz*t))]. For DICOM, i is the column, j the row and k
//     the slice (in order along the slice normal); for NIfTI, i,j,k are the file's
//     dim[1..3]. Nt is 1 for 3D volumes.
//   - Affine maps voxel indices (i, j, k, 1) to world coordinates in millimetres in RAS+,
//     NIfTI's convention: +x points to the patient's Right, +y Anterior, +z Superior.
//     DICOM's patient coordinates are LPS+ (+x Left, +y Posterior, +z Superior); the DICOM
//     reader converts them by negating x and y.
//   - Spacing is the voxel size along i, j, k in millimetres (the affine's column norms).
type Volume struct {
	Dims    [4]int        // Nx, Ny, Nz, Nt (Nt = 1 for 3D)
	Data    []float32     // Nx*Ny*Nz*Nt voxels, i fastest
	Spacing [3]float64    // voxel size in mm along i, j, k
	Affine  [4][4]float64 // voxel (i,j,k,1) -> RAS+ mm
	// Window is the display window stored in the file (DICOM WindowCenter/Width); zero
	// if the file has none. WindowFromFile uses it.
	Window Window
	// Invert is set for DICOM MONOCHROME1 images, where the lowest value is shown
	// white: Slices inverts the windowed grey levels.
	Invert bool
	// Modality is the DICOM Modality ("CT", "MR", ...); empty for NIfTI.
	Modality string
	// Meta holds identifying text from the file: keys "PatientID", "StudyInstanceUID",
	// "SeriesInstanceUID", "SeriesDescription", "Source" (file or folder read), and
	// reader-specific ones documented by each reader. Use PatientID for patient-level
	// splits.
	Meta map[string]string
}

// NumVoxels returns Nx*Ny*Nz*Nt.
func (v *Volume) NumVoxels() int { return v.Dims[0] * v.Dims[1] * v.Dims[2] * v.Dims[3] }

// At returns voxel (i, j, k) of time point t. It panics if an index is out of range,
// like slice indexing.
func (v *Volume) At(i, j, k, t int) float32 {
	if i < 0 || j < 0 || k < 0 || t < 0 || i >= v.Dims[0] || j >= v.Dims[1] || k >= v.Dims[2] || t >= v.Dims[3] {
		panic(fmt.Sprintf("data: Volume.At(%d,%d,%d,%d) out of range %v", i, j, k, t, v.Dims))
	}
	return v.Data[i+v.Dims[0]*(j+v.Dims[1]*(k+v.Dims[2]*t))]
}

// World returns the RAS+ coordinates in mm of voxel (i, j, k) (fractional indices allowed).
func (v *Volume) World(i, j, k float64) [3]float64 {
	var p [3]float64
	for r := range 3 {
		p[r] = v.Affine[r][0]*i + v.Affine[r][1]*j + v.Affine[r][2]*k + v.Affine[r][3]
	}
	return p
}

// Validate checks that the dimensions are positive, Data has their product of voxels and
// the affine is finite and invertible.
func (v *Volume) Validate() error {
	for a, n := range v.Dims {
		if n <= 0 {
			return fmt.Errorf("data: volume: Dims[%d] = %d, want > 0: %w", a, n, ErrArgument)
		}
	}
	if n := v.Dims[0] * v.Dims[1] * v.Dims[2] * v.Dims[3]; len(v.Data) != n {
		return fmt.Errorf("data: volume: %d voxels in Data, Dims %v need %d: %w", len(v.Data), v.Dims, n, ErrArgument)
	}
	for r := range 4 {
		for c := range 4 {
			if x := v.Affine[r][c]; math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("data: volume: affine[%d][%d] = %v: %w", r, c, x, ErrArgument)
			}
		}
	}
	if d := volDet3(v.Affine); d == 0 {
		return fmt.Errorf("data: volume: affine is singular: %w", ErrArgument)
	}
	return nil
}

// volDet3 is the determinant of the affine's 3x3 linear part.
func volDet3(a [4][4]float64) float64 {
	return a[0][0]*(a[1][1]*a[2][2]-a[1][2]*a[2][1]) -
		a[0][1]*(a[1][0]*a[2][2]-a[1][2]*a[2][0]) +
		a[0][2]*(a[1][0]*a[2][1]-a[1][1]*a[2][0])
}

// VolumeSpacing returns the column norms of an affine's 3x3 part: the voxel size along
// i, j and k.
func VolumeSpacing(a [4][4]float64) [3]float64 {
	var s [3]float64
	for c := range 3 {
		s[c] = math.Sqrt(a[0][c]*a[0][c] + a[1][c]*a[1][c] + a[2][c]*a[2][c])
	}
	return s
}

// Window is a display window in the volume's physical units (HU for CT): values from
// Center-Width/2 to Center+Width/2 map linearly onto grey levels 0..255, values outside
// clip to 0 or 255: grey = round(255 * (x - (Center - Width/2)) / Width). (DICOM's
// linear VOI LUT function, PS3.3 C.11.2.1.2, divides by Width-1 and shifts by half a
// unit; for CT windows the two agree within about one grey level.)
//
// The zero Window is WindowFromFile.
type Window struct {
	Center, Width float64
}

// Window presets for CT in Hounsfield units, from the "typical window width and level
// values" table of Radiopaedia's article "Windowing (CT)"
// (https://radiopaedia.org/articles/windowing-ct): brain W:80 L:40, lungs W:1500 L:-600,
// mediastinum W:350 L:50, bone W:1800 L:400, abdominal soft tissues W:400 L:50.
var (
	// WindowFromFile uses the window stored in the file (Volume.Window, from DICOM
	// WindowCenter/WindowWidth); if the file has none, the volume's min-max range.
	WindowFromFile      = Window{}
	WindowCTLung        = Window{Center: -600, Width: 1500}
	WindowCTMediastinum = Window{Center: 50, Width: 350}
	WindowCTBrain       = Window{Center: 40, Width: 80}
	WindowCTBone        = Window{Center: 400, Width: 1800}
	WindowCTSoftTissue  = Window{Center: 50, Width: 400}
)

// Gray maps a value to its grey level in [0, 255]; NaN maps to 0. w.Width must be > 0.
func (w Window) Gray(x float64) uint8 {
	y := 255 * (x - (w.Center - w.Width/2)) / w.Width
	switch {
	case !(y > 0): // also NaN
		return 0
	case y >= 255:
		return 255
	}
	return uint8(math.Round(y))
}

// resolveWindow turns WindowFromFile into a concrete window and checks the width.
func (v *Volume) resolveWindow(w Window) (Window, error) {
	if w == WindowFromFile {
		if v.Window.Width > 0 {
			return v.Window, nil
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range v.Data {
			if f := float64(x); !math.IsNaN(f) && !math.IsInf(f, 0) {
				lo, hi = min(lo, f), max(hi, f)
			}
		}
		if lo > hi { // no finite voxel
			return Window{Center: 0, Width: 1}, nil
		}
		if hi == lo {
			return Window{Center: lo, Width: 1}, nil
		}
		return Window{Center: (lo + hi) / 2, Width: hi - lo}, nil
	}
	if !(w.Width > 0) || math.IsInf(w.Width, 0) || math.IsNaN(w.Center) || math.IsInf(w.Center, 0) {
		return w, fmt.Errorf("data: window center %v width %v: width must be finite and > 0: %w", w.Center, w.Width, ErrArgument)
	}
	return w, nil
}

// Plane names the anatomical plane of the 2D slices Volume.Slices makes. The plane is
// found in world (RAS+) space from the affine, whatever the order of the file's axes:
// each voxel axis is matched to the world axis it is closest to.
//
// Images are shown in the radiological convention of DICOM viewers, so that the
// slices of an ordinary axial CT series come out as its stored frames:
//   - Axial (perpendicular to z): rows run anterior to posterior, columns patient
//     right to left; slices from inferior to superior.
//   - Coronal (perpendicular to y): rows superior to inferior, columns right to left;
//     slices from posterior to anterior.
//   - Sagittal (perpendicular to x): rows superior to inferior, columns anterior to
//     posterior; slices from the patient's left to right.
//
// Pixels stay on the voxel grid: an image's aspect ratio is that of the voxel spacing
// (thick axial slices give flat coronal images); resizing is left to the caller.
type Plane int

const (
	Axial Plane = iota
	Coronal
	Sagittal
)

// String returns "axial", "coronal" or "sagittal".
func (p Plane) String() string {
	switch p {
	case Axial:
		return "axial"
	case Coronal:
		return "coronal"
	case Sagittal:
		return "sagittal"
	}
	return fmt.Sprintf("Plane(%d)", int(p))
}

// volView says, for a plane, which world axis is the slice normal and which are the
// image rows and columns, and in which direction each runs (true: increasing world
// coordinate).
type volView struct {
	normal, row, col int
	rowIncr, colIncr bool
}

func (p Plane) view() (volView, bool) {
	switch p {
	case Axial:
		return volView{normal: 2, row: 1, col: 0}, true
	case Coronal:
		return volView{normal: 1, row: 2, col: 0}, true
	case Sagittal:
		return volView{normal: 0, row: 2, col: 1}, true
	}
	return volView{}, false
}

// Orientation returns, for each world axis x, y, z (RAS+), the voxel axis (0, 1, 2 for
// i, j, k) closest to it and whether increasing that voxel index increases the world
// coordinate. Axes are matched greedily, largest direction cosine first, as nibabel's
// io_orientation does.
func (v *Volume) Orientation() (axis [3]int, increasing [3]bool) {
	var cos [3][3]float64 // cos[w][a]: |direction cosine| of voxel axis a on world axis w
	for a := range 3 {
		n := math.Sqrt(v.Affine[0][a]*v.Affine[0][a] + v.Affine[1][a]*v.Affine[1][a] + v.Affine[2][a]*v.Affine[2][a])
		for w := range 3 {
			if n > 0 {
				cos[w][a] = math.Abs(v.Affine[w][a]) / n
			}
		}
	}
	usedW, usedA := [3]bool{}, [3]bool{}
	for range 3 {
		bw, ba, best := -1, -1, -1.0
		for w := range 3 {
			for a := range 3 {
				if !usedW[w] && !usedA[a] && cos[w][a] > best {
					bw, ba, best = w, a, cos[w][a]
				}
			}
		}
		usedW[bw], usedA[ba] = true, true
		axis[bw] = ba
		increasing[bw] = v.Affine[bw][ba] >= 0
	}
	return axis, increasing
}

// PlaneSpacing returns the distances in mm between neighbouring rows, columns and slices
// of the images Slices cuts in plane p: the spacing of the voxel axis each of them runs
// along. Distances measured on stacked slices (a segmentation's surface distances) need
// them.
func (v *Volume) PlaneSpacing(p Plane) (rows, cols, slices float64, err error) {
	view, ok := p.view()
	if !ok {
		return 0, 0, 0, fmt.Errorf("data: Volume.PlaneSpacing: unknown plane %d: %w", int(p), ErrArgument)
	}
	axis, _ := v.Orientation()
	return v.Spacing[axis[view.row]], v.Spacing[axis[view.col]], v.Spacing[axis[view.normal]], nil
}

// SliceOption configures Volume.Slices.
type SliceOption func(*volSliceConfig)

type volSliceConfig struct {
	every, count int
	lo, hi       int
	hasRange     bool
	t            int
}

// SliceEvery keeps every k-th slice (the first, the (k+1)-th, ...).
func SliceEvery(k int) SliceOption { return func(c *volSliceConfig) { c.every = k } }

// SliceCount keeps n slices spread evenly, the first and the last included:
// slice round(i*(N-1)/(n-1)) for i in [0, n). n larger than the number of slices N keeps
// all N.
func SliceCount(n int) SliceOption { return func(c *volSliceConfig) { c.count = n } }

// SliceRange keeps slices lo <= s < hi only (in the plane's slice order), before
// SliceEvery or SliceCount pick among them.
func SliceRange(lo, hi int) SliceOption {
	return func(c *volSliceConfig) { c.lo, c.hi, c.hasRange = lo, hi, true }
}

// SliceTime picks the time point of a 4D volume (default 0).
func SliceTime(t int) SliceOption { return func(c *volSliceConfig) { c.t = t } }

// SliceIndices returns the positions, in the plane's slice order (see Plane), of the
// slices Slices would return for these options.
func (v *Volume) SliceIndices(p Plane, opts ...SliceOption) ([]int, error) {
	if err := v.Validate(); err != nil {
		return nil, err
	}
	view, ok := p.view()
	if !ok {
		return nil, fmt.Errorf("data: Volume.Slices: unknown plane %d: %w", int(p), ErrArgument)
	}
	var c volSliceConfig
	for _, o := range opts {
		o(&c)
	}
	axis, _ := v.Orientation()
	n := v.Dims[axis[view.normal]]
	lo, hi := 0, n
	if c.hasRange {
		if c.lo < 0 || c.hi > n || c.lo >= c.hi {
			return nil, fmt.Errorf("data: Volume.Slices: SliceRange(%d, %d) outside [0, %d] or empty: %w", c.lo, c.hi, n, ErrArgument)
		}
		lo, hi = c.lo, c.hi
	}
	if c.t < 0 || c.t >= v.Dims[3] {
		return nil, fmt.Errorf("data: Volume.Slices: SliceTime(%d) outside [0, %d): %w", c.t, v.Dims[3], ErrArgument)
	}
	if c.every != 0 && c.count != 0 {
		return nil, fmt.Errorf("data: Volume.Slices: SliceEvery and SliceCount are exclusive: %w", ErrArgument)
	}
	var idx []int
	switch {
	case c.every < 0 || c.count < 0:
		return nil, fmt.Errorf("data: Volume.Slices: SliceEvery(%d) / SliceCount(%d) must be positive: %w", c.every, c.count, ErrArgument)
	case c.count > 0 && c.count < hi-lo:
		m := hi - lo
		for i := range c.count {
			if c.count == 1 {
				idx = append(idx, lo+(m-1)/2)
				break
			}
			idx = append(idx, lo+int(math.Round(float64(i)*float64(m-1)/float64(c.count-1))))
		}
	default:
		step := max(c.every, 1)
		for s := lo; s < hi; s += step {
			idx = append(idx, s)
		}
	}
	return idx, nil
}

// Slices cuts the volume into 2D images in the given plane (oriented as Plane
// describes), windows them to uint8 grey levels and returns them as a single-channel
// Split, so 2D encoders, pretext tasks and evaluation protocols take them as they take
// MedMNIST images. Images keep the volume's native grid (no resize). The split's Name is
// the plane's name; its labels are placeholders (all 0, NumClasses 1). MONOCHROME1
// volumes (Volume.Invert) come out inverted, as a DICOM viewer shows them.
func (v *Volume) Slices(p Plane, w Window, opts ...SliceOption) (*Split, error) {
	idx, err := v.SliceIndices(p, opts...)
	if err != nil {
		return nil, err
	}
	if w, err = v.resolveWindow(w); err != nil {
		return nil, err
	}
	var c volSliceConfig
	for _, o := range opts {
		o(&c)
	}
	view, _ := p.view()
	axis, incr := v.Orientation()
	h, wd := v.Dims[axis[view.row]], v.Dims[axis[view.col]]
	strides := [3]int{1, v.Dims[0], v.Dims[0] * v.Dims[1]}
	base := c.t * v.Dims[0] * v.Dims[1] * v.Dims[2]
	// voxelPos turns a position along world axis wa, counted in the wanted direction,
	// into the voxel index along the matching voxel axis.
	voxelPos := func(wa, pos int, wantIncr bool) int {
		if incr[wa] == wantIncr {
			return pos
		}
		return v.Dims[axis[wa]] - 1 - pos
	}
	out := &Split{
		Name: p.String(), N: len(idx), Height: h, Width: wd, Channels: 1,
		Images: make([]uint8, len(idx)*h*wd), Labels: make([]int32, len(idx)),
		LabelDim: 1, NumClasses: 1,
	}
	for n, s := range idx {
		off0 := base + voxelPos(view.normal, s, true)*strides[axis[view.normal]]
		img := out.Images[n*h*wd : (n+1)*h*wd]
		for r := range h {
			offR := off0 + voxelPos(view.row, r, view.rowIncr)*strides[axis[view.row]]
			for col := range wd {
				g := w.Gray(float64(v.Data[offR+voxelPos(view.col, col, view.colIncr)*strides[axis[view.col]]]))
				if v.Invert {
					g = 255 - g
				}
				img[r*wd+col] = g
			}
		}
	}
	return out, nil
}
