// Package nifti reads NIfTI-1 and NIfTI-2 images (.nii, .nii.gz, and .hdr/.img pairs)
// into a data.Volume. It is written from the format's reference headers, nifti1.h and
// nifti2.h (https://nifti.nimh.nih.gov/), and checked against nibabel's readings of
// files nibabel wrote (testdata/make_fixtures.py).
//
// What it reads: both byte orders (told by sizeof_hdr, 348 or 540), magic "n+1", "ni1",
// "n+2", "ni2"; voxel types uint8, int8, int16, uint16, int32, uint32, int64, uint64,
// float32 and float64 (others are rejected with ErrUnsupported); 1 to 4 dimensions
// (dims 5-7 must be 1); scl_slope/scl_inter (slope 0 or non-finite means no scaling, as
// in nibabel); the voxel-to-world affine by the spec's precedence: sform if
// sform_code > 0, else qform if qform_code > 0, else diag(pixdim) (the spec's method 1;
// nibabel centres that grid instead). NIfTI's world space is RAS+, which is what
// data.Volume stores. Spatial units in metres or micrometres (xyzt_units) are converted
// to millimetres. cal_min/cal_max, when set, become Volume.Window. Volume.Meta holds
// Source, Format ("NIfTI-1"/"NIfTI-2"), Affine (which transform was used: "sform",
// "qform" or "pixdim"), QformCode, SformCode, Datatype, Descrip, SpaceUnit, TimeUnit,
// TimeStep (pixdim[4]) and ByteOrder. NIfTI has no patient identifiers.
//
// Every header field the reader relies on is checked, and the data size the header
// claims is checked against the bytes really present (after gunzip, read incrementally)
// before voxels are allocated, so a corrupt or hostile file gives an error naming the
// file and field, never a panic or a huge allocation.
package nifti

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
)

// errFormat is data.ErrFormat: malformed files match errors.Is(err, data.ErrFormat).
var errFormat = data.ErrFormat

// Read reads a .nii or .nii.gz file, or the .hdr of a .hdr/.img pair (magic "ni1"/"ni2";
// the image is read from the .img or .img.gz beside it).
func Read(path string) (*data.Volume, error) {
	name := filepath.Base(path)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nifti: %w", err)
	}
	h, err := header(b, name)
	if err != nil {
		return nil, err
	}
	if h.SingleFile() {
		return decode(h, b, name)
	}
	img := imagePath(path)
	ib, err := os.ReadFile(img)
	if err != nil {
		return nil, fmt.Errorf("nifti: %s: magic %q says the voxels are in a separate .img file: %w", name, h.Magic, err)
	}
	return decode(h, ib, filepath.Base(img))
}

// imagePath maps x.hdr(.gz) to x.img(.gz).
func imagePath(hdr string) string {
	for _, ext := range []string{".hdr.gz", ".hdr"} {
		if strings.HasSuffix(strings.ToLower(hdr), ext) {
			return hdr[:len(hdr)-len(ext)] + strings.Replace(ext, "hdr", "img", 1)
		}
	}
	return hdr + ".img"
}

// Decode reads a single-file NIfTI image (.nii bytes, gzipped or not). name is used in
// error messages and as the volume's "Source".
func Decode(b []byte, name string) (*data.Volume, error) {
	h, err := header(b, name)
	if err != nil {
		return nil, err
	}
	if !h.SingleFile() {
		return nil, headerError(name, "magic", "%q: header of a .hdr/.img pair; use Read on the .hdr path", h.Magic)
	}
	return decode(h, b, name)
}

// isGzip reports whether b starts with the gzip magic bytes.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// header decodes the header at the start of the (possibly gzipped) file b.
func header(b []byte, name string) (*Header, error) {
	hb := b
	if isGzip(b) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("nifti: %s: gzip: %w: %w", name, err, errFormat)
		}
		hb, err = io.ReadAll(io.LimitReader(zr, size2))
		if err != nil {
			return nil, fmt.Errorf("nifti: %s: gzip: %w: %w", name, err, errFormat)
		}
	}
	return DecodeHeader(hb, name)
}

// decode reads the voxels of file b (gzipped or not) described by h. For a single file
// the voxels start at vox_offset of b; for a pair, b is the .img file.
func decode(h *Header, b []byte, name string) (*data.Volume, error) {
	bpv := int64(h.Bitpix / 8)
	nvox := int64(1)
	const limit = 1 << 46 // far above any real file; the bytes present bound it below
	for i := int64(1); i <= h.Dim[0]; i++ {
		if nvox > limit/h.Dim[i] {
			return nil, headerError(name, "dim", "%v voxels overflow", h.Dim[1:h.Dim[0]+1])
		}
		nvox *= h.Dim[i]
	}
	need := h.VoxOffset + nvox*bpv
	raw := b
	if isGzip(b) {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("nifti: %s: gzip: %w: %w", name, err, errFormat)
		}
		// io.ReadAll grows its buffer as bytes arrive: the allocation follows the
		// decompressed data, not the header's claim.
		if raw, err = io.ReadAll(io.LimitReader(zr, need)); err != nil {
			return nil, fmt.Errorf("nifti: %s: gzip: %w: %w", name, err, errFormat)
		}
	}
	if int64(len(raw)) < need {
		return nil, fmt.Errorf("nifti: %s: data: truncated: dim %v of %s from vox_offset %d need %d bytes, the file has %d: %w",
			name, h.Dim[1:h.Dim[0]+1], h.DatatypeName(), h.VoxOffset, need, len(raw), errFormat)
	}
	src := raw[h.VoxOffset:need]
	slope, inter := h.SclSlope, h.SclInter
	scaled := finite(slope) && slope != 0
	out := make([]float32, nvox)
	bo := h.ByteOrder
	for i := range out {
		var x float64
		p := src[int64(i)*bpv:]
		switch h.Datatype {
		case 2:
			x = float64(p[0])
		case 256:
			x = float64(int8(p[0]))
		case 4:
			x = float64(int16(bo.Uint16(p)))
		case 512:
			x = float64(bo.Uint16(p))
		case 8:
			x = float64(int32(bo.Uint32(p)))
		case 768:
			x = float64(bo.Uint32(p))
		case 1024:
			x = float64(int64(bo.Uint64(p)))
		case 1280:
			x = float64(bo.Uint64(p))
		case 16:
			x = float64(math.Float32frombits(bo.Uint32(p)))
		case 64:
			x = math.Float64frombits(bo.Uint64(p))
		}
		if scaled {
			x = x*slope + inter
		}
		out[i] = float32(x)
	}
	v := &data.Volume{Data: out, Meta: map[string]string{}}
	for i := range 4 {
		v.Dims[i] = 1
		if int64(i+1) <= h.Dim[0] {
			v.Dims[i] = int(h.Dim[i+1])
		}
	}
	var method string
	v.Affine, method = h.Affine()
	space, tunit := h.Units()
	if f := map[string]float64{"m": 1000, "um": 0.001}[space]; f != 0 {
		for r := range 3 {
			for c := range 4 {
				v.Affine[r][c] *= f
			}
		}
	}
	v.Spacing = data.VolumeSpacing(v.Affine)
	if err := v.Validate(); err != nil {
		return nil, headerError(name, method, "the %s affine is unusable (%v)", method, err)
	}
	if finite(h.CalMin) && finite(h.CalMax) && h.CalMax > h.CalMin {
		v.Window = data.Window{Center: (h.CalMin + h.CalMax) / 2, Width: h.CalMax - h.CalMin}
	}
	v.Meta["Source"] = name
	v.Meta["Format"] = "NIfTI-" + strconv.Itoa(h.Version)
	v.Meta["Affine"] = method
	v.Meta["Datatype"] = h.DatatypeName()
	v.Meta["Descrip"] = h.Descrip
	v.Meta["QformCode"] = strconv.Itoa(int(h.QformCode))
	v.Meta["SformCode"] = strconv.Itoa(int(h.SformCode))
	v.Meta["SpaceUnit"], v.Meta["TimeUnit"] = space, tunit
	v.Meta["TimeStep"] = strconv.FormatFloat(h.Pixdim[4], 'g', -1, 64)
	if h.ByteOrder == binary.BigEndian {
		v.Meta["ByteOrder"] = "big-endian"
	} else {
		v.Meta["ByteOrder"] = "little-endian"
	}
	return v, nil
}
