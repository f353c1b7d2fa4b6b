package dicom

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
)

// fileReading is pydicom's (and nibabel.nicom's) reading of a fixture, written by
// data/testdata/make_volume_fixtures.py.
type fileReading struct {
	Rows, Cols, Frames int
	TransferSyntax     string         `json:"transfer_syntax"`
	Photometric        string         `json:"photometric"`
	Values             []float64      `json:"values"`
	PatientID          string         `json:"patient_id"`
	SeriesUID          string         `json:"series_uid"`
	Modality           string         `json:"modality"`
	Position           []float64      `json:"position"`
	Orientation        []float64      `json:"orientation"`
	PixelSpacing       []float64      `json:"pixel_spacing"`
	Window             []float64      `json:"window"`
	NibabelAffineLPS   *[4][4]float64 `json:"nibabel_affine_lps"`
	AffineLPS          *[4][4]float64 `json:"affine_lps"`
	FrameOrder         []int          `json:"frame_order"`
}

type seriesReading struct {
	Order     []string               `json:"order"`
	Dims      []int                  `json:"dims"`
	Values    []float64              `json:"values"`
	AffineLPS [4][4]float64          `json:"affine_lps"`
	Window    []float64              `json:"window"`
	PatientID string                 `json:"patient_id"`
	SeriesUID string                 `json:"series_uid"`
	Files     map[string]fileReading `json:"files"`
}

type expectations struct {
	Files  map[string]fileReading   `json:"files"`
	Series map[string]seriesReading `json:"series"`
}

func expected(t testing.TB) expectations {
	t.Helper()
	b, err := os.ReadFile("testdata/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var e expectations
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// ras converts an LPS affine to RAS by negating its first two rows.
func ras(a [4][4]float64) [4][4]float64 {
	for c := range 4 {
		a[0][c], a[1][c] = -a[0][c], -a[1][c]
	}
	return a
}

func checkAffine(t *testing.T, got, want [4][4]float64) {
	t.Helper()
	for i := range 4 {
		for j := range 4 {
			if math.Abs(got[i][j]-want[i][j]) > 1e-6 {
				t.Fatalf("affine\n%v\nwant\n%v", got, want)
			}
		}
	}
}

func checkValues(t *testing.T, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d values, pydicom %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i] != float32(w) {
			t.Fatalf("value %d = %v, pydicom %v", i, got[i], w)
		}
	}
}

// TestSeriesAgainstPydicom reads the two series folders: values after rescale in
// slice-position order, dims, affine, window and identifiers against pydicom's
// readings, and the in-plane axes against nibabel.nicom's affine.
func TestSeriesAgainstPydicom(t *testing.T) {
	exp := expected(t)
	for _, name := range []string{"ct_series", "oblique_series"} {
		t.Run(name, func(t *testing.T) {
			e := exp.Series[name]
			v, err := ReadSeries(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != [4]int{e.Dims[0], e.Dims[1], e.Dims[2], 1} {
				t.Fatalf("Dims %v, want %v", v.Dims, e.Dims)
			}
			checkValues(t, v.Data, e.Values)
			checkAffine(t, v.Affine, ras(e.AffineLPS))
			if v.Meta["PatientID"] != e.PatientID || v.Meta["SeriesInstanceUID"] != e.SeriesUID || v.Meta["Files"] != "4" && name == "ct_series" {
				t.Errorf("meta %v", v.Meta)
			}
			if e.Window != nil && v.Window != (data.Window{Center: e.Window[0], Width: e.Window[1]}) {
				t.Errorf("window %v, pydicom %v", v.Window, e.Window)
			}
			// nibabel's DICOM affine indexes (row, column): its columns 0 and 1 are our 1 and 0.
			first := e.Files[e.Order[0]]
			if n := first.NibabelAffineLPS; n != nil {
				lps := ras(v.Affine)
				for r := range 3 {
					if math.Abs(lps[r][0]-n[r][1]) > 1e-6 || math.Abs(lps[r][1]-n[r][0]) > 1e-6 || math.Abs(lps[r][3]-n[r][3]) > 1e-6 {
						t.Fatalf("in-plane axes differ from nibabel:\n%v\nnibabel\n%v", lps, *n)
					}
				}
			} else {
				t.Errorf("no nibabel affine recorded for %s", e.Order[0])
			}
			sp := data.VolumeSpacing(v.Affine)
			if math.Abs(sp[0]-first.PixelSpacing[1]) > 1e-9 || math.Abs(sp[1]-first.PixelSpacing[0]) > 1e-9 {
				t.Errorf("spacing %v, PixelSpacing %v", v.Spacing, first.PixelSpacing)
			}
		})
	}
}

// TestSeriesAxialSlicesAreStoredFrames: an axial series (IOP 1,0,0,0,1,0) cut in the
// axial plane gives each file's windowed pixels, in position order.
func TestSeriesAxialSlicesAreStoredFrames(t *testing.T) {
	e := expected(t).Series["ct_series"]
	v, err := ReadSeries("testdata/ct_series")
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"SliceThickness": "2.5", "PixelSpacing": `0.7\0.8`, "ImageOrientationPatient": `1\0\0\0\1\0`,
		"ImagePositionPatient": `-20\-15\10`, "Modality": "CT", "PhotometricInterpretation": "MONOCHROME2",
	} {
		if v.Meta[k] != want {
			t.Errorf("Meta[%s] = %q, want %q", k, v.Meta[k], want)
		}
	}
	sp, err := v.Slices(data.Axial, data.WindowFromFile)
	if err != nil {
		t.Fatal(err)
	}
	w := data.Window{Center: e.Window[0], Width: e.Window[1]}
	for k, f := range e.Order {
		vals := e.Files[f].Values
		for i, x := range vals {
			if got, want := sp.Image(k)[i], w.Gray(x); got != want {
				t.Fatalf("slice %d (%s) pixel %d = %d, want %d", k, f, i, got, want)
			}
		}
	}
}

func TestSingleFilesAgainstPydicom(t *testing.T) {
	exp := expected(t)
	for _, name := range []string{"mono1.dcm", "rle.dcm", "multiframe_fg.dcm", "multiframe_legacy.dcm"} {
		t.Run(name, func(t *testing.T) {
			e := exp.Files[name]
			v, err := ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if v.Dims != [4]int{e.Cols, e.Rows, e.Frames, 1} {
				t.Fatalf("Dims %v, pydicom rows %d cols %d frames %d", v.Dims, e.Rows, e.Cols, e.Frames)
			}
			want := e.Values
			if e.FrameOrder != nil { // frames sorted along the normal
				n := e.Rows * e.Cols
				want = nil
				for _, f := range e.FrameOrder {
					want = append(want, e.Values[f*n:(f+1)*n]...)
				}
			}
			checkValues(t, v.Data, want)
			if e.AffineLPS != nil {
				checkAffine(t, v.Affine, ras(*e.AffineLPS))
			}
			if v.Invert != (e.Photometric == "MONOCHROME1") || v.Meta["TransferSyntaxUID"] != e.TransferSyntax {
				t.Errorf("invert %v, meta %v", v.Invert, v.Meta)
			}
			if e.Window != nil && v.Window != (data.Window{Center: e.Window[0], Width: e.Window[1]}) {
				t.Errorf("window %v, pydicom %v", v.Window, e.Window)
			}
			if v.Meta["PatientID"] != e.PatientID || v.Modality != e.Modality {
				t.Errorf("PatientID %q modality %q", v.Meta["PatientID"], v.Modality)
			}
		})
	}
}

// MONOCHROME1: the slice shows 255 minus the windowed value.
func TestMonochrome1Slices(t *testing.T) {
	e := expected(t).Files["mono1.dcm"]
	v, err := ReadFile("testdata/mono1.dcm")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := v.Slices(data.Axial, data.WindowFromFile)
	if err != nil {
		t.Fatal(err)
	}
	w := data.Window{Center: e.Window[0], Width: e.Window[1]}
	for i, x := range e.Values {
		if got, want := sp.Image(0)[i], 255-w.Gray(x); got != want {
			t.Fatalf("pixel %d = %d, want %d", i, got, want)
		}
	}
}

// JPEG baseline: Go's decoder against dcmtk's (libijg). Both use exact integer IDCTs
// but not the same one, so grey levels may differ by one.
func TestJPEGBaseline(t *testing.T) {
	e := expected(t).Files["jpeg_baseline.dcm"]
	v, err := ReadFile("testdata/jpeg_baseline.dcm")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != len(e.Values) {
		t.Fatalf("%d values, want %d", len(v.Data), len(e.Values))
	}
	maxDiff := 0.0
	for i, x := range e.Values {
		maxDiff = max(maxDiff, math.Abs(float64(v.Data[i])-x))
	}
	if maxDiff > 1 {
		t.Errorf("max difference from dcmtk's decoding = %v grey levels, want <= 1", maxDiff)
	}
	t.Logf("max difference from dcmtk's JPEG decoding: %v", maxDiff)
}

func TestUnsupportedTransferSyntax(t *testing.T) {
	ts := expected(t).Files["jpeg_lossless.dcm"].TransferSyntax
	_, err := ReadFile("testdata/jpeg_lossless.dcm")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "jpeg_lossless.dcm") || !strings.Contains(err.Error(), ts) {
		t.Fatalf("err = %v, want ErrUnsupported naming the file and %s", err, ts)
	}
}

func TestBadSeries(t *testing.T) {
	for dir, want := range map[string]string{"mixed_series": "SeriesInstanceUID", "mixed_sizes": "rows x columns"} {
		_, err := ReadSeries(filepath.Join("testdata", dir))
		if !errors.Is(err, ErrSeries) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrSeries mentioning %q", dir, err, want)
		}
	}
	if _, err := ReadSeries(t.TempDir()); !errors.Is(err, data.ErrFormat) {
		t.Errorf("empty folder: %v", err)
	}
}

// assemble sorts by position along the normal and rejects duplicate and irregular
// positions; checked on hand-made slices.
func TestAssemble(t *testing.T) {
	ref := &decoded{name: "ref", rows: 1, cols: 1, iop: [6]float64{1, 0, 0, 0, 1, 0}, spacing: [2]float64{1, 1}}
	mk := func(zs ...float64) []slice {
		var s []slice
		for _, z := range zs {
			s = append(s, slice{pos: [3]float64{0, 0, z}, values: []float32{float32(z)}, name: "z"})
		}
		return s
	}
	v, err := assemble(mk(3, 1, 2), ref)
	if err != nil || !slices.Equal(v.Data, []float32{1, 2, 3}) || v.Affine[2][2] != 1 || v.Affine[2][3] != 1 {
		t.Fatalf("sorted: %v %v %v", err, v.Data, v.Affine)
	}
	if _, err := assemble(mk(1, 2, 2), ref); !errors.Is(err, ErrSeries) {
		t.Errorf("duplicate positions: %v", err)
	}
	if _, err := assemble(mk(1, 2, 4), ref); !errors.Is(err, ErrSeries) || !strings.Contains(err.Error(), "irregular") {
		t.Errorf("irregular spacing: %v", err)
	}
	bad := *ref
	bad.iop = [6]float64{1, 0, 0, 1, 0, 0}
	if _, err := assemble(mk(1, 2), &bad); !errors.Is(err, data.ErrFormat) {
		t.Errorf("parallel orientation vectors: %v", err)
	}
}

func TestUnpackBits(t *testing.T) {
	// literal run of 3, repeat 'x' 4 times (-3), no-op (-128), literal run of 1.
	src := []byte{2, 'a', 'b', 'c', 0xFD, 'x', 0x80, 0, 'z'}
	dst := make([]byte, 8)
	if err := unpackBits(src, dst); err != nil || string(dst) != "abcxxxxz" {
		t.Fatalf("unpackBits = %q, %v", dst, err)
	}
	if err := unpackBits(src[:5], dst); err == nil {
		t.Error("truncated run decoded without error")
	}
	if err := unpackBits([]byte{0xF0, 'x'}, make([]byte, 4)); err == nil {
		t.Error("run past the output decoded without error")
	}
}

func TestPixelFormat(t *testing.T) {
	p := pixelFormat{bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true}
	for raw, want := range map[uint32]float64{0x0FFF: -1, 0x0800: -2048, 0x07FF: 2047, 0xF001: 1} {
		if got := p.value(raw); got != want {
			t.Errorf("signed 12-bit %#x = %v, want %v", raw, got, want)
		}
	}
	p.signed = false
	if got := p.value(0xF123); got != 0x123 {
		t.Errorf("unsigned 12-bit masks high bits: %v", got)
	}
}

// Malformed inputs: errors matching data.ErrFormat that name the file, never panics.
func TestMalformed(t *testing.T) {
	b, err := os.ReadFile("testdata/mono1.dcm")
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"short":     b[:100],
		"no magic":  append(make([]byte, 128), []byte("XXXX")...),
		"truncated": b[:len(b)-7],
	}
	huge := slices.Clone(b)
	// Make the pixel data element claim 4 GiB: find (7FE0,0010) OW.
	i := strings.Index(string(huge), "\xe0\x7f\x10\x00OW")
	if i < 0 {
		t.Fatal("pixel data element not found")
	}
	copy(huge[i+8:], []byte{0xF0, 0xFF, 0xFF, 0xFF})
	cases["huge length"] = huge
	for name, in := range cases {
		_, err := Decode(in, "bad.dcm")
		if !errors.Is(err, data.ErrFormat) || !strings.Contains(err.Error(), "bad.dcm") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestSeriesFiles(t *testing.T) {
	groups, err := SeriesFiles("testdata/mixed_series")
	if err != nil || len(groups) != 2 {
		t.Fatalf("SeriesFiles = %v, %v; want 2 series", groups, err)
	}
	for uid, files := range groups {
		v, err := ReadSeriesFiles(files)
		if err != nil || v.Meta["SeriesInstanceUID"] != uid || v.Dims[2] != 1 {
			t.Errorf("series %s: %v %v", uid, err, v)
		}
	}
	groups, err = SeriesFiles("testdata/ct_series") // README.txt is skipped
	if err != nil || len(groups) != 1 {
		t.Fatalf("ct_series: %v %v", groups, err)
	}
	for _, files := range groups {
		if len(files) != 4 {
			t.Errorf("ct_series files %v", files)
		}
	}
	if !isDICOMDIR([]byte("xx1.2.840.10008.1.3.10\x00")) || isDICOMDIR([]byte("1.2.840.10008.1.3.101")) || isDICOMDIR([]byte("1.2.840.10008.1.3.10.1")) {
		t.Error("isDICOMDIR")
	}
}
