package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
)

// reading is nibabel's reading of a fixture, written by data/testdata/make_volume_fixtures.py.
type reading struct {
	Shape     []int         `json:"shape"`
	Dtype     string        `json:"dtype"`
	Affine    [4][4]float64 `json:"affine"`
	Qform     [4][4]float64 `json:"qform"`
	QformCode int           `json:"qform_code"`
	Sform     [4][4]float64 `json:"sform"`
	SformCode int           `json:"sform_code"`
	Zooms     []float64     `json:"zooms"`
	Slope     float64       `json:"slope"`
	Inter     float64       `json:"inter"`
	BigEndian bool          `json:"big_endian"`
	Values    []float64     `json:"values"`
}

func expected(t testing.TB) map[string]reading {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]reading
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func closeAffine(a, b [4][4]float64, tol float64) bool {
	for i := range 4 {
		for j := range 4 {
			if math.Abs(a[i][j]-b[i][j]) > tol {
				return false
			}
		}
	}
	return true
}

// TestAgainstNibabel reads every fixture and compares voxels, shape, affines and
// spacing with nibabel's readings.
func TestAgainstNibabel(t *testing.T) {
	exp := expected(t)
	names := make([]string, 0, len(exp))
	for n := range exp {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) < 12 {
		t.Fatalf("only %d fixtures in expected.json", len(names))
	}
	for _, name := range names {
		e := exp[name]
		t.Run(name, func(t *testing.T) {
			v, err := Read(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			want := [4]int{1, 1, 1, 1}
			copy(want[:], e.Shape)
			if v.Dims != want {
				t.Fatalf("Dims %v, nibabel shape %v", v.Dims, e.Shape)
			}
			if len(v.Data) != len(e.Values) {
				t.Fatalf("%d voxels, nibabel %d", len(v.Data), len(e.Values))
			}
			for i, x := range e.Values {
				if v.Data[i] != float32(x) {
					t.Fatalf("voxel %d = %v, nibabel %v", i, v.Data[i], x)
				}
			}
			h := mustHeader(t, name)
			if !closeAffine(h.QformAffine(), e.Qform, 1e-6) {
				t.Errorf("qform\n%v\nnibabel\n%v", h.QformAffine(), e.Qform)
			}
			if !closeAffine(h.SformAffine(), e.Sform, 1e-6) && e.SformCode > 0 {
				t.Errorf("sform\n%v\nnibabel\n%v", h.SformAffine(), e.Sform)
			}
			if e.QformCode > 0 || e.SformCode > 0 {
				if !closeAffine(v.Affine, e.Affine, 1e-6) {
					t.Errorf("affine (%s)\n%v\nnibabel\n%v", v.Meta["Affine"], v.Affine, e.Affine)
				}
			} else {
				// No transform: the spec's method 1 is diag(pixdim); nibabel centres and
				// x-flips the grid instead, so compare with its zooms.
				base := [4][4]float64{{e.Zooms[0], 0, 0, 0}, {0, e.Zooms[1], 0, 0}, {0, 0, e.Zooms[2], 0}, {0, 0, 0, 1}}
				if v.Meta["Affine"] != "pixdim" || !closeAffine(v.Affine, base, 1e-6) {
					t.Errorf("base affine %v (%s), want diag(%v)", v.Affine, v.Meta["Affine"], e.Zooms[:3])
				}
			}
			sp := data.VolumeSpacing(e.Affine)
			if e.QformCode == 0 && e.SformCode == 0 {
				sp = [3]float64{e.Zooms[0], e.Zooms[1], e.Zooms[2]}
			}
			for i := range 3 {
				if math.Abs(v.Spacing[i]-sp[i]) > 1e-6 {
					t.Errorf("spacing %v, want %v", v.Spacing, sp)
				}
			}
			if (h.ByteOrder == binary.BigEndian) != e.BigEndian {
				t.Errorf("big-endian = %v, nibabel %v", h.ByteOrder == binary.BigEndian, e.BigEndian)
			}
			slope, inter := h.SclSlope, h.SclInter
			if !(slope != 0 && finite(slope)) {
				slope, inter = 1, 0
			}
			if slope != e.Slope || inter != e.Inter {
				t.Errorf("slope/inter %v/%v, nibabel %v/%v", slope, inter, e.Slope, e.Inter)
			}
		})
	}
}

func mustHeader(t *testing.T, name string) *Header {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	h, err := header(b, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The qform and sform of this fixture differ: the sform must win (sform_code 2 > 0),
// then the qform once sform_code is 0, then diag(pixdim) once both are 0.
func TestAffinePrecedence(t *testing.T) {
	b := readFixture(t, "n1_int16_scaled.nii")
	exp := expected(t)["n1_int16_scaled.nii"]
	if closeAffine(exp.Qform, exp.Sform, 1e-3) {
		t.Fatal("fixture's qform and sform should differ")
	}
	v, err := Decode(b, "x.nii")
	if err != nil || v.Meta["Affine"] != "sform" || !closeAffine(v.Affine, exp.Sform, 1e-6) {
		t.Fatalf("sform case: %v %v", err, v.Meta)
	}
	binary.LittleEndian.PutUint16(b[254:], 0) // sform_code
	v, err = Decode(b, "x.nii")
	if err != nil || v.Meta["Affine"] != "qform" || !closeAffine(v.Affine, exp.Qform, 1e-6) {
		t.Fatalf("qform case: %v %v", err, v.Meta)
	}
	binary.LittleEndian.PutUint16(b[252:], 0) // qform_code
	v, err = Decode(b, "x.nii")
	base := [4][4]float64{{exp.Zooms[0], 0, 0, 0}, {0, exp.Zooms[1], 0, 0}, {0, 0, exp.Zooms[2], 0}, {0, 0, 0, 1}}
	if err != nil || v.Meta["Affine"] != "pixdim" || !closeAffine(v.Affine, base, 1e-6) {
		t.Fatalf("pixdim case: %v %v %v", err, v.Meta, v.Affine)
	}
}

// TestQuaternion checks QformAffine against rotation matrices written out by hand.
func TestQuaternion(t *testing.T) {
	h := &Header{Pixdim: [8]float64{1, 2, 3, 4}, QOffset: [3]float64{1, 2, 3}}
	// b = sin(45°) about x: a 90-degree rotation about x maps y to z and z to -y.
	h.Quatern = [3]float64{math.Sqrt(0.5), 0, 0}
	want := [4][4]float64{{2, 0, 0, 1}, {0, 0, -4, 2}, {0, 3, 0, 3}, {0, 0, 0, 1}}
	if got := h.QformAffine(); !closeAffine(got, want, 1e-12) {
		t.Errorf("90° about x:\n%v\nwant\n%v", got, want)
	}
	// b = 1 (a = 0): 180 degrees about x; qfac -1 flips k.
	h.Quatern, h.Pixdim[0] = [3]float64{1, 0, 0}, -1
	want = [4][4]float64{{2, 0, 0, 1}, {0, -3, 0, 2}, {0, 0, 4, 3}, {0, 0, 0, 1}}
	if got := h.QformAffine(); !closeAffine(got, want, 1e-12) {
		t.Errorf("180° about x, qfac -1:\n%v\nwant\n%v", got, want)
	}
}

func TestGzipMatchesPlain(t *testing.T) {
	a, err := Read("testdata/n1_int16_scaled.nii")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read("testdata/n1_int16_scaled.nii.gz")
	if err != nil {
		t.Fatal(err)
	}
	if a.Dims != b.Dims || a.Affine != b.Affine || len(a.Data) != len(b.Data) {
		t.Fatal("gzip and plain readings differ")
	}
	for i := range a.Data {
		if a.Data[i] != b.Data[i] {
			t.Fatalf("voxel %d: %v vs %v", i, a.Data[i], b.Data[i])
		}
	}
	if a.Meta["SpaceUnit"] != "mm" || a.Meta["TimeUnit"] != "s" || a.Meta["Format"] != "NIfTI-1" {
		t.Errorf("meta %v", a.Meta)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadHeaders corrupts one field at a time and checks the error names the file and
// the field, and matches data.ErrFormat or ErrUnsupported.
func TestBadHeaders(t *testing.T) {
	le := binary.LittleEndian
	f32 := func(x float32) []byte { b := make([]byte, 4); le.PutUint32(b, math.Float32bits(x)); return b }
	i16 := func(x int16) []byte { b := make([]byte, 2); le.PutUint16(b, uint16(x)); return b }
	cases := []struct {
		off   int
		bytes []byte
		field string
		kind  error
	}{
		{0, []byte{1, 2, 3, 4}, "sizeof_hdr", data.ErrFormat},
		{344, []byte("nx1\x00"), "magic", data.ErrFormat},
		{70, i16(32), "datatype", ErrUnsupported}, // complex64
		{70, i16(3), "datatype", data.ErrFormat},  // no such code
		{72, i16(8), "bitpix", data.ErrFormat},
		{40, i16(0), "dim[0]", data.ErrFormat},
		{40, i16(8), "dim[0]", data.ErrFormat},
		{42, i16(-5), "dim[1]", data.ErrFormat},
		{40, i16(5), "dim[4]", data.ErrFormat}, // dim[4] is 1 in a 3D file... but dim[5] below
		{108, f32(100), "vox_offset", data.ErrFormat},
		{108, f32(float32(math.NaN())), "vox_offset", data.ErrFormat},
		{108, f32(352.5), "vox_offset", data.ErrFormat},
		{80, f32(-1), "pixdim[1]", data.ErrFormat},
		{116, f32(float32(math.Inf(1))), "scl_inter", data.ErrFormat},
		{280, f32(float32(math.NaN())), "srow_x[0]", data.ErrFormat},
		{256, f32(float32(math.Inf(-1))), "quatern_b", data.ErrFormat},
		{42, i16(30000), "data", data.ErrFormat}, // dim[1] huge: more bytes than the file
	}
	for _, c := range cases {
		b := readFixture(t, "n1_int16_scaled.nii")
		copy(b[c.off:], c.bytes)
		if c.field == "dim[4]" {
			// dim[0]=5 with dim[4]=0: dims 1..dim[0] must be >= 1.
			le.PutUint16(b[48:], 0)
		}
		_, err := Decode(b, "bad.nii")
		if err == nil {
			t.Errorf("%s: no error", c.field)
			continue
		}
		if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), "bad.nii") || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: error %q (kind %v)", c.field, err, c.kind)
		}
	}
	// Dims 5-7 other than 1 are unsupported, not malformed.
	b := readFixture(t, "n1_int16_scaled.nii")
	le.PutUint16(b[40:], 5)
	le.PutUint16(b[48:], 1)
	le.PutUint16(b[50:], 2)
	if _, err := Decode(b, "bad.nii"); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "dim[5]") {
		t.Errorf("5D: %v", err)
	}
	// Truncated voxel data, plain and gzipped; a pair header given to Decode.
	b = readFixture(t, "n1_int16_scaled.nii")
	if _, err := Decode(b[:len(b)-1], "bad.nii"); !errors.Is(err, data.ErrFormat) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated: %v", err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(b[:len(b)-10])
	zw.Close()
	if _, err := Decode(gz.Bytes(), "bad.nii.gz"); !errors.Is(err, data.ErrFormat) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("truncated gzip: %v", err)
	}
	gzb := readFixture(t, "n1_int16_scaled.nii.gz")
	if _, err := Decode(gzb[:len(gzb)/2], "bad.nii.gz"); !errors.Is(err, data.ErrFormat) {
		t.Errorf("cut gzip stream: %v", err)
	}
	if _, err := Decode(readFixture(t, "pair.hdr"), "pair.hdr"); !errors.Is(err, data.ErrFormat) || !strings.Contains(err.Error(), "magic") {
		t.Errorf("pair header via Decode: %v", err)
	}
	if _, err := Decode(nil, "empty.nii"); !errors.Is(err, data.ErrFormat) {
		t.Errorf("empty: %v", err)
	}
	// NIfTI-2 end-of-line check bytes.
	b = readFixture(t, "n2_uint8_4d.nii")
	b[9] = 'x'
	if _, err := Decode(b, "bad.nii"); !errors.Is(err, data.ErrFormat) || !strings.Contains(err.Error(), "magic") {
		t.Errorf("NIfTI-2 eol: %v", err)
	}
}

// Slices of a NIfTI volume go through data.Volume: a smoke check on a real reading.
func TestSlicesOfNifti(t *testing.T) {
	v, err := Read("testdata/n2_uint8_4d.nii")
	if err != nil {
		t.Fatal(err)
	}
	// sform diag(-2, 2, 3): i runs toward -x (left), so axial columns (right to left)
	// follow i, rows (anterior to posterior) run j backwards.
	sp, err := v.Slices(data.Axial, data.Window{Center: 127.5, Width: 255}, data.SliceTime(2))
	if err != nil {
		t.Fatal(err)
	}
	if sp.N != 2 || sp.Height != 3 || sp.Width != 3 {
		t.Fatalf("N,H,W = %d,%d,%d", sp.N, sp.Height, sp.Width)
	}
	for k := range 2 {
		for r := range 3 {
			for c := range 3 {
				x := v.At(c, 2-r, k, 2)
				if got := sp.Image(k)[r*3+c]; got != uint8(x) {
					t.Fatalf("slice %d (%d,%d) = %d, want %v", k, r, c, got, x)
				}
			}
		}
	}
}

// xyzt_units in metres (code 1): the affine and spacing are converted to millimetres.
func TestUnitsToMillimetres(t *testing.T) {
	b := readFixture(t, "n1_int16_scaled.nii")
	mm, err := Decode(b, "mm.nii")
	if err != nil {
		t.Fatal(err)
	}
	b[123] = 1 | 8 // metres, seconds
	m, err := Decode(b, "m.nii")
	if err != nil {
		t.Fatal(err)
	}
	for r := range 3 {
		for c := range 4 {
			if math.Abs(m.Affine[r][c]-1000*mm.Affine[r][c]) > 1e-9 {
				t.Fatalf("affine[%d][%d] = %v, want 1000 x %v", r, c, m.Affine[r][c], mm.Affine[r][c])
			}
		}
	}
	if m.Meta["SpaceUnit"] != "m" || math.Abs(m.Spacing[0]-1000*mm.Spacing[0]) > 1e-9 {
		t.Errorf("unit %q spacing %v vs %v", m.Meta["SpaceUnit"], m.Spacing, mm.Spacing)
	}
}
