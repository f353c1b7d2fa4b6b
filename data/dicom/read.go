// Package dicom reads DICOM images, single files or a series in a folder, into a
// data.Volume, with github.com/suyashkumar/dicom parsing the files.
//
// Pixel values are converted to physical units with RescaleSlope/RescaleIntercept
// (Hounsfield units for CT), per slice or per frame. Geometry comes from
// ImagePositionPatient, ImageOrientationPatient and PixelSpacing (for enhanced
// multi-frame files, from the shared and per-frame functional groups): slices are
// sorted by their position along the slice normal (the cross product of the two
// ImageOrientationPatient vectors), never by file name or InstanceNumber, and must be
// evenly spaced. DICOM's patient coordinates are LPS+; the Volume's affine is RAS+ (x
// and y negated). Volume.Window is WindowCenter/WindowWidth; MONOCHROME1 images set
// Volume.Invert. Meta keeps PatientID (for patient-level splits), StudyInstanceUID,
// SeriesInstanceUID, SeriesDescription, Modality, PhotometricInterpretation,
// TransferSyntaxUID, PixelSpacing, SliceThickness, ImageOrientationPatient and the
// ImagePositionPatient of the first slice (DICOM's backslash-separated form, LPS), and
// Source (file or folder).
//
// Supported pixel data: greyscale (SamplesPerPixel 1, MONOCHROME1/2), BitsAllocated 8,
// 16 or 32, in the three uncompressed transfer syntaxes, RLE Lossless (decoded here),
// and 8-bit JPEG baseline/extended (decoded by Go's image/jpeg). Other compressed
// syntaxes (JPEG lossless, JPEG-LS, JPEG 2000, ...) are rejected with an error naming
// the file and the transfer syntax (ErrUnsupported): decompress such files first, e.g.
// with dcmtk's dcmdjpeg or gdcmconv --raw. Colour images and Modality LUT sequences
// are rejected too.
//
// Every element length is checked against the bytes present before the parser sees the
// file, and parser panics are recovered, so malformed files give errors (matching
// data.ErrFormat), not crashes or huge allocations.
package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

var (
	// ErrUnsupported is matched by errors for valid files this package cannot decode
	// (compressed transfer syntaxes other than RLE and 8-bit JPEG, colour, ...).
	ErrUnsupported = errors.New("unsupported")
	// ErrSeries is matched by errors for a folder whose files do not form one series
	// (several SeriesInstanceUIDs, different image sizes or orientations, duplicate or
	// irregular slice positions).
	ErrSeries = errors.New("inconsistent series")
)

// ReadFile reads one DICOM file: a single slice, or all frames of a multi-frame file.
func ReadFile(path string) (*data.Volume, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	return Decode(b, filepath.Base(path))
}

// Decode reads one DICOM file held in memory; name is used in errors and as Source.
func Decode(b []byte, name string) (*data.Volume, error) {
	im, err := decodeImage(b, name)
	if err != nil {
		return nil, err
	}
	slices := make([]slice, im.frames)
	for f := range slices {
		slices[f] = slice{pos: im.pos[f], values: im.values[f], name: fmt.Sprintf("%s frame %d", name, f)}
	}
	v, err := assemble(slices, im)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", name, err)
	}
	v.Meta["Source"] = name
	return v, nil
}

// ReadSeries reads the DICOM files directly inside dir (not its subfolders) as one
// series. Files without the DICM signature and DICOMDIR files are skipped; every other
// file must be a single-frame image of the same series, size and orientation. For a
// folder holding several series, use SeriesFiles and ReadSeriesFiles.
func ReadSeries(dir string) (*data.Volume, error) {
	paths, err := dicomFiles(dir)
	if err != nil {
		return nil, err
	}
	return readSeries(paths, dir)
}

// ReadSeriesFiles reads the given files as one series, like ReadSeries.
func ReadSeriesFiles(paths []string) (*data.Volume, error) {
	return readSeries(paths, strings.Join(paths, ","))
}

// SeriesFiles groups the DICOM files directly inside dir by SeriesInstanceUID, reading
// headers only. Non-DICOM files and DICOMDIRs are skipped.
func SeriesFiles(dir string) (map[string][]string, error) {
	paths, err := dicomFiles(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("dicom: %w", err)
		}
		if _, err := scan(b); err != nil {
			return nil, fmt.Errorf("dicom: %s: %w: %w", filepath.Base(p), err, data.ErrFormat)
		}
		ds, err := parse(b, dcm.SkipPixelData())
		if err != nil {
			return nil, fmt.Errorf("dicom: %s: %w: %w", filepath.Base(p), err, data.ErrFormat)
		}
		uid := attrs(ds.Elements).str(tag.SeriesInstanceUID)
		out[uid] = append(out[uid], p)
	}
	return out, nil
}

// dicomFiles lists the regular files of dir that start like a DICOM Part 10 file and
// are not DICOMDIRs, in name order.
func dicomFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	var paths []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("dicom: %w", err)
		}
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		f.Close()
		head = head[:n]
		if n < 132 || string(head[128:132]) != "DICM" || isDICOMDIR(head) {
			continue
		}
		paths = append(paths, p)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("dicom: %s: no DICOM files: %w", dir, data.ErrFormat)
	}
	return paths, nil
}

// isDICOMDIR reports whether a file's first bytes hold the Media Storage Directory
// Storage SOP class UID (1.2.840.10008.1.3.10) of a DICOMDIR.
func isDICOMDIR(head []byte) bool {
	const u = "1.2.840.10008.1.3.10"
	for rest := head; ; {
		i := bytes.Index(rest, []byte(u))
		if i < 0 {
			return false
		}
		rest = rest[i+len(u):]
		if len(rest) == 0 || rest[0] != '.' && (rest[0] < '0' || rest[0] > '9') {
			return true
		}
	}
}

func readSeries(paths []string, source string) (*data.Volume, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("dicom: no files given: %w", data.ErrArgument)
	}
	var ims []*decoded
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("dicom: %w", err)
		}
		im, err := decodeImage(b, filepath.Base(p))
		if err != nil {
			return nil, err
		}
		ims = append(ims, im)
	}
	ref := ims[0]
	var sl []slice
	for _, im := range ims {
		if err := sameSeries(ref, im); err != nil {
			return nil, fmt.Errorf("dicom: %s: %w", source, err)
		}
		sl = append(sl, slice{pos: im.pos[0], values: im.values[0], name: im.name})
	}
	v, err := assemble(sl, ref)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w", source, err)
	}
	v.Meta["Source"] = source
	v.Meta["Files"] = strconv.Itoa(len(ims))
	return v, nil
}

// sameSeries checks that im can be stacked with ref.
func sameSeries(ref, im *decoded) error {
	switch {
	case im.seriesUID != ref.seriesUID:
		return fmt.Errorf("%s has SeriesInstanceUID %q, %s has %q: %w", im.name, im.seriesUID, ref.name, ref.seriesUID, ErrSeries)
	case im.frames != 1:
		return fmt.Errorf("%s is a multi-frame file (%d frames): read it alone with ReadFile: %w", im.name, im.frames, ErrSeries)
	case im.rows != ref.rows || im.cols != ref.cols:
		return fmt.Errorf("%s is %dx%d, %s is %dx%d (rows x columns): %w", im.name, im.rows, im.cols, ref.name, ref.rows, ref.cols, ErrSeries)
	case im.invert != ref.invert:
		return fmt.Errorf("%s and %s mix MONOCHROME1 and MONOCHROME2: %w", im.name, ref.name, ErrSeries)
	}
	for i := range 6 {
		if math.Abs(im.iop[i]-ref.iop[i]) > 1e-4 {
			return fmt.Errorf("%s has ImageOrientationPatient %v, %s has %v: %w", im.name, im.iop, ref.name, ref.iop, ErrSeries)
		}
	}
	for i := range 2 {
		if math.Abs(im.spacing[i]-ref.spacing[i]) > 1e-4 {
			return fmt.Errorf("%s has PixelSpacing %v, %s has %v: %w", im.name, im.spacing, ref.name, ref.spacing, ErrSeries)
		}
	}
	return nil
}
