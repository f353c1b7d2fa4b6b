package nifti

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrUnsupported is matched (errors.Is) by errors for valid files this reader does not
// handle: complex, RGB or 128-bit voxels, more than 4 non-trivial dimensions.
var ErrUnsupported = errors.New("unsupported")

// Header is the part of a NIfTI-1 or NIfTI-2 header the reader uses, widened to the
// NIfTI-2 types. Field names follow nifti1.h / nifti2.h.
type Header struct {
	Version    int              // 1 or 2
	ByteOrder  binary.ByteOrder // the file's byte order, told by sizeof_hdr
	Magic      string           // "n+1", "ni1", "n+2" or "ni2"
	Dim        [8]int64
	Datatype   int16
	Bitpix     int16
	Pixdim     [8]float64
	VoxOffset  int64
	SclSlope   float64
	SclInter   float64
	XYZTUnits  uint8
	QformCode  int32
	SformCode  int32
	Quatern    [3]float64 // quatern_b, _c, _d
	QOffset    [3]float64 // qoffset_x, _y, _z
	Srow       [3][4]float64
	Descrip    string
	CalMin     float64
	CalMax     float64
	IntentCode int32
}

// Size of the two header layouts (sizeof_hdr) and the smallest vox_offset of a .nii
// file: the header plus the 4-byte extension flag.
const (
	size1 = 348
	size2 = 540
)

// SingleFile reports whether the image data follow the header in the same file (magic
// "n+1" / "n+2") rather than in a separate .img file ("ni1" / "ni2").
func (h *Header) SingleFile() bool { return len(h.Magic) > 1 && h.Magic[1] == '+' }

// headerError names the file and the header field at fault.
func headerError(name, field, format string, args ...any) error {
	return fmt.Errorf("nifti: %s: %s: %s: %w", name, field, fmt.Sprintf(format, args...), errFormat)
}

// DecodeHeader parses and checks the header at the start of b (a NIfTI-1 or NIfTI-2
// header, either byte order, not gzipped). name is used in error messages only.
func DecodeHeader(b []byte, name string) (*Header, error) {
	if len(b) < 4 {
		return nil, headerError(name, "sizeof_hdr", "file has only %d bytes", len(b))
	}
	h := &Header{}
	switch {
	case binary.LittleEndian.Uint32(b) == size1:
		h.Version, h.ByteOrder = 1, binary.LittleEndian
	case binary.BigEndian.Uint32(b) == size1:
		h.Version, h.ByteOrder = 1, binary.BigEndian
	case binary.LittleEndian.Uint32(b) == size2:
		h.Version, h.ByteOrder = 2, binary.LittleEndian
	case binary.BigEndian.Uint32(b) == size2:
		h.Version, h.ByteOrder = 2, binary.BigEndian
	default:
		return nil, headerError(name, "sizeof_hdr", "is %d (little-endian), want 348 (NIfTI-1) or 540 (NIfTI-2) in either byte order", binary.LittleEndian.Uint32(b))
	}
	need := size1
	if h.Version == 2 {
		need = size2
	}
	if len(b) < need {
		return nil, headerError(name, "header", "truncated: %d bytes, NIfTI-%d needs %d", len(b), h.Version, need)
	}
	if h.Version == 1 {
		h.decode1(b)
	} else {
		h.decode2(b)
	}
	return h, h.check(b, name)
}

// reader helpers over the header bytes in the file's byte order.
type fields struct {
	b  []byte
	bo binary.ByteOrder
}

func (f fields) i16(o int) int16   { return int16(f.bo.Uint16(f.b[o:])) }
func (f fields) i32(o int) int32   { return int32(f.bo.Uint32(f.b[o:])) }
func (f fields) i64(o int) int64   { return int64(f.bo.Uint64(f.b[o:])) }
func (f fields) f32(o int) float64 { return float64(math.Float32frombits(f.bo.Uint32(f.b[o:]))) }
func (f fields) f64(o int) float64 { return math.Float64frombits(f.bo.Uint64(f.b[o:])) }
func (f fields) str(o, n int) string {
	s := f.b[o : o+n]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// decode1 reads the NIfTI-1 layout (nifti1.h, struct nifti_1_header).
func (h *Header) decode1(b []byte) {
	f := fields{b, h.ByteOrder}
	for i := range 8 {
		h.Dim[i] = int64(f.i16(40 + 2*i))
		h.Pixdim[i] = f.f32(76 + 4*i)
	}
	h.IntentCode = int32(f.i16(68))
	h.Datatype, h.Bitpix = f.i16(70), f.i16(72)
	h.VoxOffset = -1 // set by check, which validates the float
	h.SclSlope, h.SclInter = f.f32(112), f.f32(116)
	h.XYZTUnits = b[123]
	h.CalMax, h.CalMin = f.f32(124), f.f32(128)
	h.Descrip = f.str(148, 80)
	h.QformCode, h.SformCode = int32(f.i16(252)), int32(f.i16(254))
	for i := range 3 {
		h.Quatern[i] = f.f32(256 + 4*i)
		h.QOffset[i] = f.f32(268 + 4*i)
		for j := range 4 {
			h.Srow[i][j] = f.f32(280 + 16*i + 4*j)
		}
	}
	h.Magic = f.str(344, 4)
}

// decode2 reads the NIfTI-2 layout (nifti2.h, struct nifti_2_header).
func (h *Header) decode2(b []byte) {
	f := fields{b, h.ByteOrder}
	h.Magic = f.str(4, 4)
	h.Datatype, h.Bitpix = f.i16(12), f.i16(14)
	for i := range 8 {
		h.Dim[i] = f.i64(16 + 8*i)
		h.Pixdim[i] = f.f64(104 + 8*i)
	}
	h.VoxOffset = f.i64(168)
	h.SclSlope, h.SclInter = f.f64(176), f.f64(184)
	h.CalMax, h.CalMin = f.f64(192), f.f64(200)
	h.Descrip = f.str(240, 80)
	h.QformCode, h.SformCode = f.i32(344), f.i32(348)
	for i := range 3 {
		h.Quatern[i] = f.f64(352 + 8*i)
		h.QOffset[i] = f.f64(376 + 8*i)
		for j := range 4 {
			h.Srow[i][j] = f.f64(400 + 32*i + 8*j)
		}
	}
	h.XYZTUnits = uint8(f.i32(500))
	h.IntentCode = f.i32(504)
}

// datatypes maps the supported NIFTI_TYPE_* codes to their bits per voxel and names.
var datatypes = map[int16]struct {
	bits int16
	name string
}{
	2: {8, "uint8"}, 4: {16, "int16"}, 8: {32, "int32"}, 16: {32, "float32"}, 64: {64, "float64"},
	256: {8, "int8"}, 512: {16, "uint16"}, 768: {32, "uint32"}, 1024: {64, "int64"}, 1280: {64, "uint64"},
}

// unsupportedTypes names the other NIFTI_TYPE_* codes for error messages.
var unsupportedTypes = map[int16]string{
	1: "binary", 32: "complex64", 128: "rgb24", 1536: "float128", 1792: "complex128",
	2048: "complex256", 2304: "rgba32",
}

// maxDim bounds each dimension; the data size is further bounded by the bytes present.
const maxDim = 1 << 31

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// check validates the header fields the reader relies on; b is the raw header.
func (h *Header) check(b []byte, name string) error {
	switch {
	case h.Version == 1 && (h.Magic == "n+1" || h.Magic == "ni1"):
	case h.Version == 2 && (h.Magic == "n+2" || h.Magic == "ni2"):
		if !bytes.Equal(b[8:12], []byte{'\r', '\n', 0x1a, '\n'}) {
			return headerError(name, "magic", "NIfTI-2 end-of-line check bytes are % x, want 0d 0a 1a 0a (file corrupted by a text-mode transfer?)", b[8:12])
		}
	default:
		return headerError(name, "magic", "%q, want \"n+%d\" or \"ni%d\"", h.Magic, h.Version, h.Version)
	}
	if h.Version == 1 {
		vo := fields{b, h.ByteOrder}.f32(108)
		if !finite(vo) || vo < 0 || vo != math.Trunc(vo) || vo > 1<<30 {
			return headerError(name, "vox_offset", "%v is not a non-negative whole number of bytes", vo)
		}
		h.VoxOffset = int64(vo)
	}
	if h.SingleFile() {
		least := int64(size1 + 4) // header + 4-byte extension flag
		if h.Version == 2 {
			least = size2 + 4
		}
		if h.VoxOffset < least {
			return headerError(name, "vox_offset", "%d lies inside the header (single-file NIfTI-%d needs >= %d)", h.VoxOffset, h.Version, least)
		}
	} else if h.VoxOffset < 0 {
		return headerError(name, "vox_offset", "%d is negative", h.VoxOffset)
	}
	nd := h.Dim[0]
	if nd < 1 || nd > 7 {
		return headerError(name, "dim[0]", "%d, want 1..7", nd)
	}
	for i := int64(1); i <= nd; i++ {
		if h.Dim[i] < 1 || h.Dim[i] > maxDim {
			return headerError(name, fmt.Sprintf("dim[%d]", i), "%d, want 1..%d", h.Dim[i], int64(maxDim))
		}
		if i >= 5 && h.Dim[i] != 1 {
			return fmt.Errorf("nifti: %s: dim[%d]: %d: only 3D and 4D images are read (dims 5-7 must be 1): %w", name, i, h.Dim[i], ErrUnsupported)
		}
	}
	dt, ok := datatypes[h.Datatype]
	if !ok {
		if s, known := unsupportedTypes[h.Datatype]; known {
			return fmt.Errorf("nifti: %s: datatype: %d (%s) voxels are not supported: %w", name, h.Datatype, s, ErrUnsupported)
		}
		return headerError(name, "datatype", "unknown code %d", h.Datatype)
	}
	if h.Bitpix != dt.bits {
		return headerError(name, "bitpix", "%d, but datatype %d (%s) has %d bits", h.Bitpix, h.Datatype, dt.name, dt.bits)
	}
	for i := 1; i <= 3; i++ {
		if p := h.Pixdim[i]; !finite(p) || p < 0 {
			return headerError(name, fmt.Sprintf("pixdim[%d]", i), "%v, want a finite voxel size >= 0", p)
		}
	}
	if finite(h.SclSlope) && h.SclSlope != 0 && !finite(h.SclInter) {
		return headerError(name, "scl_inter", "%v with a valid scl_slope %v", h.SclInter, h.SclSlope)
	}
	if h.QformCode < 0 || h.SformCode < 0 {
		return headerError(name, "qform_code/sform_code", "%d/%d, want >= 0", h.QformCode, h.SformCode)
	}
	if h.QformCode > 0 {
		for i, q := range append(h.Quatern[:], h.QOffset[:]...) {
			if !finite(q) {
				return headerError(name, []string{"quatern_b", "quatern_c", "quatern_d", "qoffset_x", "qoffset_y", "qoffset_z"}[i], "%v is not finite", q)
			}
		}
	}
	if h.SformCode > 0 {
		for i := range 3 {
			for j := range 4 {
				if !finite(h.Srow[i][j]) {
					return headerError(name, fmt.Sprintf("srow_%c[%d]", "xyz"[i], j), "%v is not finite", h.Srow[i][j])
				}
			}
		}
	}
	return nil
}

// NumVoxels is the product of dim[1..dim[0]].
func (h *Header) NumVoxels() int64 {
	n := int64(1)
	for i := int64(1); i <= h.Dim[0]; i++ {
		n *= h.Dim[i]
	}
	return n
}

// DatatypeName returns the voxel type's name ("int16", ...).
func (h *Header) DatatypeName() string { return datatypes[h.Datatype].name }

// voxelSize returns pixdim[i] for a spatial axis, with 0 (unset) read as 1 mm as
// nifti1_io does.
func (h *Header) voxelSize(i int) float64 {
	if p := h.Pixdim[i]; p > 0 {
		return p
	}
	return 1
}

// QformAffine is method 2 of nifti1.h: the rotation from the quaternion (b, c, d) with
// a = sqrt(1 - b²-c²-d²), the voxel sizes pixdim[1..3], qfac = pixdim[0] (-1 flips k;
// 0 reads as 1) and the offsets qoffset_x/y/z.
func (h *Header) QformAffine() [4][4]float64 {
	b, c, d := h.Quatern[0], h.Quatern[1], h.Quatern[2]
	a := 1 - (b*b + c*c + d*d)
	if a < 1e-7 { // nifti1_io: a 180-degree rotation; renormalise (b,c,d)
		n := math.Sqrt(b*b + c*c + d*d)
		b, c, d, a = b/n, c/n, d/n, 0
	} else {
		a = math.Sqrt(a)
	}
	r := [3][3]float64{
		{a*a + b*b - c*c - d*d, 2 * (b*c - a*d), 2 * (b*d + a*c)},
		{2 * (b*c + a*d), a*a + c*c - b*b - d*d, 2 * (c*d - a*b)},
		{2 * (b*d - a*c), 2 * (c*d + a*b), a*a + d*d - c*c - b*b},
	}
	qfac := 1.0
	if h.Pixdim[0] < 0 {
		qfac = -1
	}
	s := [3]float64{h.voxelSize(1), h.voxelSize(2), h.voxelSize(3) * qfac}
	var m [4][4]float64
	for i := range 3 {
		for j := range 3 {
			m[i][j] = r[i][j] * s[j]
		}
		m[i][3] = h.QOffset[i]
	}
	m[3][3] = 1
	return m
}

// SformAffine is method 3 of nifti1.h: the rows srow_x, srow_y, srow_z.
func (h *Header) SformAffine() [4][4]float64 {
	var m [4][4]float64
	for i := range 3 {
		m[i] = h.Srow[i]
	}
	m[3][3] = 1
	return m
}

// BaseAffine is method 1 of nifti1.h (ANALYZE 7.5 compatibility): diag(pixdim[1..3]),
// no offset. (nibabel instead centres the grid on the origin for this case.)
func (h *Header) BaseAffine() [4][4]float64 {
	return [4][4]float64{{h.voxelSize(1), 0, 0, 0}, {0, h.voxelSize(2), 0, 0}, {0, 0, h.voxelSize(3), 0}, {0, 0, 0, 1}}
}

// Affine returns the voxel-to-RAS+ affine by the spec's precedence: sform if
// sform_code > 0, else qform if qform_code > 0, else the base affine; and which one
// ("sform", "qform" or "pixdim").
func (h *Header) Affine() ([4][4]float64, string) {
	switch {
	case h.SformCode > 0:
		return h.SformAffine(), "sform"
	case h.QformCode > 0:
		return h.QformAffine(), "qform"
	}
	return h.BaseAffine(), "pixdim"
}

// Units returns the spatial and temporal units of pixdim from xyzt_units
// (NIFTI_UNITS_*): "m", "mm", "um" or "" (unknown) and "s", "ms", "us", "hz", "ppm",
// "rads" or "".
func (h *Header) Units() (space, time string) {
	space = map[uint8]string{1: "m", 2: "mm", 3: "um"}[h.XYZTUnits&0x07]
	time = map[uint8]string{8: "s", 16: "ms", 24: "us", 32: "hz", 40: "ppm", 48: "rads"}[h.XYZTUnits&0x38]
	return space, time
}
