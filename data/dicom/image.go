package dicom

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/medssl/medssl/data"
	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// decoded is one decoded file.
type decoded struct {
	name                                     string
	rows, cols, frames                       int
	values                                   [][]float32  // per frame, rows*cols physical values
	pos                                      [][3]float64 // per frame, LPS
	iop                                      [6]float64
	spacing                                  [2]float64 // PixelSpacing: between rows, between columns
	gap                                      float64    // SpacingBetweenSlices or SliceThickness; 0 if absent
	thickness                                float64    // SliceThickness; 0 if absent
	window                                   data.Window
	invert                                   bool
	modality, patientID, studyUID, seriesUID string
	seriesDesc, ts, photometric, geometry    string
}

// decodeImage parses one file and decodes its pixels to physical values.
func decodeImage(b []byte, name string) (*decoded, error) {
	syn, err := scan(b)
	if err != nil {
		if errors.Is(err, ErrUnsupported) {
			return nil, fmt.Errorf("dicom: %s: %w", name, err)
		}
		return nil, fmt.Errorf("dicom: %s: %w: %w", name, err, data.ErrFormat)
	}
	ds, err := parse(b)
	if err != nil {
		return nil, fmt.Errorf("dicom: %s: %w: %w", name, err, data.ErrFormat)
	}
	im, err := newImage(ds.Elements, syn, name)
	if err != nil {
		if errors.Is(err, ErrUnsupported) {
			return nil, fmt.Errorf("dicom: %s: %w", name, err)
		}
		return nil, fmt.Errorf("dicom: %s: %w: %w", name, err, data.ErrFormat)
	}
	return im, nil
}

// parse runs the suyashkumar/dicom parser on a file scan has checked, turning a panic
// of the parser (it indexes values it has not checked in places) into an error. Native
// pixel data is kept as raw bytes, decoded by this package.
func parse(b []byte, opts ...dcm.ParseOption) (ds dcm.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the DICOM parser panicked: %v", r)
		}
	}()
	if len(opts) == 0 {
		opts = []dcm.ParseOption{dcm.SkipProcessingPixelDataValue()}
	}
	return dcm.Parse(bytes.NewReader(b), int64(len(b)), nil, opts...)
}

var (
	tagShared          = tag.Tag{Group: 0x5200, Element: 0x9229}
	tagPerFrame        = tag.Tag{Group: 0x5200, Element: 0x9230}
	tagPlanePosition   = tag.Tag{Group: 0x0020, Element: 0x9113}
	tagPlaneOrient     = tag.Tag{Group: 0x0020, Element: 0x9116}
	tagPixelMeasures   = tag.Tag{Group: 0x0028, Element: 0x9110}
	tagValueTransform  = tag.Tag{Group: 0x0028, Element: 0x9145}
	tagFrameVOILUT     = tag.Tag{Group: 0x0028, Element: 0x9132}
	tagModalityLUTSeq  = tag.Tag{Group: 0x0028, Element: 0x3000}
	tagSpacingBetween  = tag.Tag{Group: 0x0018, Element: 0x0088}
	tagNumberOfFrames  = tag.Tag{Group: 0x0028, Element: 0x0008}
	tagSamplesPerPixel = tag.Tag{Group: 0x0028, Element: 0x0002}
)

// groups looks an attribute up in a frame's functional group, then the shared group,
// then the top-level dataset.
type groups struct {
	perFrame, shared attrs
	top              attrs
}

// lookup returns the attrs holding attribute t: per-frame item of sequence seq, shared
// item of seq, or the top level.
func (g groups) lookup(seq, t tag.Tag) attrs {
	if it := g.perFrame.item(seq); it != nil && it.find(t) != nil {
		return it
	}
	if it := g.shared.item(seq); it != nil && it.find(t) != nil {
		return it
	}
	return g.top
}

func newImage(el []*dcm.Element, syn syntax, name string) (*decoded, error) {
	a := attrs(el)
	im := &decoded{
		name: name, ts: syn.uid,
		modality: a.str(tag.Modality), patientID: a.str(tag.PatientID),
		studyUID: a.str(tag.StudyInstanceUID), seriesUID: a.str(tag.SeriesInstanceUID),
		seriesDesc: a.str(tag.SeriesDescription), photometric: a.str(tag.PhotometricInterpretation),
	}
	pd := a.find(tag.PixelData)
	if pd == nil || pd.Value == nil || pd.Value.ValueType() != dcm.PixelData {
		return nil, fmt.Errorf("no pixel data (7FE0,0010)")
	}
	info, ok := pd.Value.GetValue().(dcm.PixelDataInfo)
	if !ok {
		return nil, fmt.Errorf("unreadable pixel data")
	}
	switch im.photometric {
	case "MONOCHROME1":
		im.invert = true
	case "MONOCHROME2":
	default:
		return nil, fmt.Errorf("PhotometricInterpretation %q: only greyscale (MONOCHROME1/2) images are read: %w", im.photometric, ErrUnsupported)
	}
	if spp, err := a.num(tagSamplesPerPixel, 1); err != nil || spp != 1 {
		return nil, fmt.Errorf("SamplesPerPixel %v: only 1 (greyscale) is read: %w", spp, ErrUnsupported)
	}
	if a.find(tagModalityLUTSeq) != nil {
		return nil, fmt.Errorf("Modality LUT Sequence (0028,3000) is not supported: %w", ErrUnsupported)
	}
	// Image size and sample format.
	ints := map[string]float64{}
	for _, f := range []struct {
		key    string
		t      tag.Tag
		def    float64
		lo, hi float64
	}{
		{"Rows", tag.Rows, -1, 1, 65535},
		{"Columns", tag.Columns, -1, 1, 65535},
		{"BitsAllocated", tag.BitsAllocated, -1, 8, 32},
		{"PixelRepresentation", tag.PixelRepresentation, 0, 0, 1},
		{"NumberOfFrames", tagNumberOfFrames, 1, 1, math.MaxInt32},
	} {
		x, err := a.num(f.t, f.def)
		if err != nil {
			return nil, err
		}
		if x < f.lo || x > f.hi || x != math.Trunc(x) {
			if x == -1 {
				return nil, fmt.Errorf("%s is missing", f.key)
			}
			return nil, fmt.Errorf("%s %v outside [%v, %v]", f.key, x, f.lo, f.hi)
		}
		ints[f.key] = x
	}
	im.rows, im.cols, im.frames = int(ints["Rows"]), int(ints["Columns"]), int(ints["NumberOfFrames"])
	pf := pixelFormat{bitsAllocated: int(ints["BitsAllocated"]), signed: ints["PixelRepresentation"] == 1}
	if pf.bitsAllocated != 8 && pf.bitsAllocated != 16 && pf.bitsAllocated != 32 {
		return nil, fmt.Errorf("BitsAllocated %d: only 8, 16 and 32 are read: %w", pf.bitsAllocated, ErrUnsupported)
	}
	bs, err := a.num(tag.BitsStored, float64(pf.bitsAllocated))
	if err != nil {
		return nil, err
	}
	hb, err := a.num(tag.HighBit, bs-1)
	if err != nil {
		return nil, err
	}
	if bs < 1 || bs > float64(pf.bitsAllocated) || hb < bs-1 || hb >= float64(pf.bitsAllocated) || bs != math.Trunc(bs) || hb != math.Trunc(hb) {
		return nil, fmt.Errorf("BitsStored %v / HighBit %v do not fit BitsAllocated %d", bs, hb, pf.bitsAllocated)
	}
	pf.bitsStored, pf.highBit = int(bs), int(hb)

	raw, err := im.samples(info, syn, pf)
	if err != nil {
		return nil, err
	}
	// Per-frame geometry, rescale and window.
	perFrame := a.items(tagPerFrame)
	if len(perFrame) != 0 && len(perFrame) != im.frames {
		return nil, fmt.Errorf("%d per-frame functional group items for %d frames", len(perFrame), im.frames)
	}
	shared := a.item(tagShared)
	im.values = make([][]float32, im.frames)
	im.pos = make([][3]float64, im.frames)
	im.geometry = "ImagePositionPatient/ImageOrientationPatient"
	for f := range im.frames {
		g := groups{shared: shared, top: a}
		if len(perFrame) > 0 {
			g.perFrame = perFrame[f]
		}
		vt := g.lookup(tagValueTransform, tag.RescaleSlope)
		slope, err := vt.num(tag.RescaleSlope, 1)
		if err != nil {
			return nil, err
		}
		inter, err := g.lookup(tagValueTransform, tag.RescaleIntercept).num(tag.RescaleIntercept, 0)
		if err != nil {
			return nil, err
		}
		if slope == 0 {
			return nil, fmt.Errorf("RescaleSlope is 0")
		}
		vals := make([]float32, len(raw[f]))
		for i, r := range raw[f] {
			vals[i] = float32(pf.value(r)*slope + inter)
		}
		im.values[f] = vals
		if f == 0 {
			if err := im.geometryOf(g); err != nil {
				return nil, err
			}
			wa := g.lookup(tagFrameVOILUT, tag.WindowCenter)
			wc, err := wa.num(tag.WindowCenter, math.NaN())
			if err != nil {
				return nil, err
			}
			ww, err := g.lookup(tagFrameVOILUT, tag.WindowWidth).num(tag.WindowWidth, math.NaN())
			if err != nil {
				return nil, err
			}
			if ww > 0 && !math.IsNaN(wc) {
				im.window = data.Window{Center: wc, Width: ww}
			}
		}
		// Position: the frame's own PlanePositionSequence; else, for the first frame, the
		// shared group or top-level ImagePositionPatient; later frames of a legacy
		// multi-frame file are spaced evenly along the normal.
		var src attrs
		if it := g.perFrame.item(tagPlanePosition); it != nil && it.find(tag.ImagePositionPatient) != nil {
			src = it
		} else if f == 0 {
			src = g.lookup(tagPlanePosition, tag.ImagePositionPatient)
		}
		p, ok, err := src.vec(tag.ImagePositionPatient, 3)
		if err != nil {
			return nil, err
		}
		switch {
		case ok:
			im.pos[f] = [3]float64{p[0], p[1], p[2]}
		case f == 0:
			im.geometry = "default (no ImagePositionPatient)"
		default:
			gap := im.gap
			if gap <= 0 {
				gap = 1
			}
			normal := cross([3]float64{im.iop[0], im.iop[1], im.iop[2]}, [3]float64{im.iop[3], im.iop[4], im.iop[5]})
			im.pos[f] = [3]float64{im.pos[0][0] + float64(f)*gap*normal[0], im.pos[0][1] + float64(f)*gap*normal[1], im.pos[0][2] + float64(f)*gap*normal[2]}
		}
	}
	return im, nil
}

// geometryOf reads orientation, pixel spacing and slice gap for the first frame.
func (im *decoded) geometryOf(g groups) error {
	o, ok, err := g.lookup(tagPlaneOrient, tag.ImageOrientationPatient).vec(tag.ImageOrientationPatient, 6)
	if err != nil {
		return err
	}
	im.iop = [6]float64{1, 0, 0, 0, 1, 0}
	if ok {
		copy(im.iop[:], o)
	}
	s, ok, err := g.lookup(tagPixelMeasures, tag.PixelSpacing).vec(tag.PixelSpacing, 2)
	if err != nil {
		return err
	}
	im.spacing = [2]float64{1, 1}
	if ok {
		if !(s[0] > 0 && s[1] > 0) {
			return fmt.Errorf("PixelSpacing %v must be positive", s)
		}
		im.spacing = [2]float64{s[0], s[1]}
	}
	gap, err := g.lookup(tagPixelMeasures, tagSpacingBetween).num(tagSpacingBetween, 0)
	if err != nil {
		return err
	}
	if im.thickness, err = g.lookup(tagPixelMeasures, tag.SliceThickness).num(tag.SliceThickness, 0); err != nil {
		return err
	}
	if gap <= 0 {
		gap = im.thickness
	}
	im.gap = math.Abs(gap)
	return nil
}

// samples decodes the pixel data into raw samples per frame.
func (im *decoded) samples(info dcm.PixelDataInfo, syn syntax, pf pixelFormat) ([][]uint32, error) {
	frameBytes := int64(im.rows) * int64(im.cols) * int64(pf.bitsAllocated/8)
	uncompressed := slices.Contains([]string{tsImplicitLE, tsExplicitLE, tsExplicitBE}, syn.uid)
	if !info.IsEncapsulated {
		if !uncompressed || !info.IntentionallyUnprocessed {
			return nil, fmt.Errorf("transfer syntax %s (%s) declares compressed data but the pixel data is not encapsulated", syn.uid, tsName(syn.uid))
		}
		if int64(im.frames) > int64(len(info.UnprocessedValueData))/max(frameBytes, 1) {
			return nil, fmt.Errorf("pixel data has %d bytes, Rows %d x Columns %d x NumberOfFrames %d x %d bytes need more", len(info.UnprocessedValueData), im.rows, im.cols, im.frames, pf.bitsAllocated/8)
		}
		return nativeFrames(info.UnprocessedValueData, syn.bo, pf, im.rows, im.cols, im.frames)
	}
	switch {
	case uncompressed:
		return nil, fmt.Errorf("encapsulated pixel data in the uncompressed transfer syntax %s", syn.uid)
	case syn.uid == tsJPEGBase || syn.uid == tsJPEGExt:
		if pf.bitsAllocated != 8 {
			return nil, fmt.Errorf("transfer syntax %s (%s) with %d-bit samples: Go's JPEG decoder reads 8-bit only: %w", syn.uid, tsName(syn.uid), pf.bitsAllocated, ErrUnsupported)
		}
	case syn.uid != tsRLE:
		return nil, fmt.Errorf("transfer syntax %s (%s) is not supported: decompress the file first (e.g. dcmtk's dcmdjpeg/dcmdrle or gdcmconv --raw): %w", syn.uid, tsName(syn.uid), ErrUnsupported)
	}
	var frags [][]byte
	total := 0
	for _, f := range info.Frames {
		if f != nil && f.Encapsulated {
			frags = append(frags, f.EncapsulatedData.Data)
			total += len(f.EncapsulatedData.Data)
		}
	}
	if frameBytes*int64(im.frames) > maxExpansion*int64(total)+1<<16 {
		return nil, fmt.Errorf("Rows %d x Columns %d x NumberOfFrames %d cannot come from %d bytes of compressed data", im.rows, im.cols, im.frames, total)
	}
	if im.frames == 1 && len(frags) > 1 {
		frags = [][]byte{bytes.Join(frags, nil)}
	}
	if len(frags) != im.frames {
		return nil, fmt.Errorf("%d compressed fragments for %d frames (frames split over several fragments are not supported): %w", len(frags), im.frames, ErrUnsupported)
	}
	out := make([][]uint32, im.frames)
	for f, fr := range frags {
		var err error
		if syn.uid == tsRLE {
			out[f], err = rleFrame(fr, pf, im.rows, im.cols)
		} else {
			out[f], err = jpegFrame(fr, im.rows, im.cols)
		}
		if err != nil {
			return nil, fmt.Errorf("frame %d (%s): %w", f, tsName(syn.uid), err)
		}
	}
	return out, nil
}

func tsName(ts string) string {
	if info, err := uid.Lookup(ts); err == nil {
		return info.Name
	}
	return "unknown"
}
