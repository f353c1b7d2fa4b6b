package dicom

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
)

// Transfer syntaxes whose pixel data this package decodes. Native (uncompressed) data
// comes in the three uncompressed syntaxes; of the compressed ones, RLE Lossless is
// decoded here and 8-bit JPEG baseline/extended by Go's image/jpeg. Everything else
// (JPEG lossless, JPEG-LS, JPEG 2000, HTJ2K, video, deflate) gives ErrUnsupported.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsExplicitBE = "1.2.840.10008.1.2.2"
	tsRLE        = "1.2.840.10008.1.2.5"
	tsJPEGBase   = "1.2.840.10008.1.2.4.50"
	tsJPEGExt    = "1.2.840.10008.1.2.4.51"
	maxExpansion = 1024 // decoded bytes per compressed byte we accept (RLE's worst is 64)
)

// pixelFormat is how stored samples become integers (PS3.3 C.7.6.3).
type pixelFormat struct {
	bitsAllocated, bitsStored, highBit int
	signed                             bool
}

// value extracts the BitsStored bits ending at HighBit from a raw sample and sign-extends
// them when PixelRepresentation is 1.
func (p pixelFormat) value(raw uint32) float64 {
	v := uint64(raw) >> uint(p.highBit+1-p.bitsStored)
	v &= 1<<uint(p.bitsStored) - 1
	if p.signed && v&(1<<uint(p.bitsStored-1)) != 0 {
		return float64(int64(v) - 1<<uint(p.bitsStored))
	}
	return float64(v)
}

// nativeFrames splits uncompressed pixel data into frames of raw samples.
func nativeFrames(raw []byte, bo binary.ByteOrder, p pixelFormat, rows, cols, frames int) ([][]uint32, error) {
	bps := p.bitsAllocated / 8
	n := rows * cols // rows, cols <= 65535: fits
	need := int64(n) * int64(bps) * int64(frames)
	if int64(len(raw)) < need {
		return nil, fmt.Errorf("pixel data has %d bytes, Rows %d x Columns %d x NumberOfFrames %d x %d bytes need %d", len(raw), rows, cols, frames, bps, need)
	}
	out := make([][]uint32, frames)
	for f := range out {
		out[f] = make([]uint32, n)
		src := raw[f*n*bps:]
		for i := range n {
			switch bps {
			case 1:
				out[f][i] = uint32(src[i])
			case 2:
				out[f][i] = uint32(bo.Uint16(src[2*i:]))
			case 4:
				out[f][i] = bo.Uint32(src[4*i:])
			}
		}
	}
	return out, nil
}

// rleFrame decodes one RLE Lossless frame (PS3.5 Annex G): a 64-byte header with the
// number of segments and their offsets, then one PackBits segment per byte of each
// sample, most significant byte first.
func rleFrame(b []byte, p pixelFormat, rows, cols int) ([]uint32, error) {
	bps := p.bitsAllocated / 8
	if len(b) < 64 {
		return nil, fmt.Errorf("RLE frame of %d bytes is shorter than its 64-byte header", len(b))
	}
	nseg := int(binary.LittleEndian.Uint32(b))
	if nseg != bps {
		return nil, fmt.Errorf("RLE header has %d segments, %d-bit grey samples need %d", nseg, p.bitsAllocated, bps)
	}
	n := rows * cols
	out := make([]uint32, n)
	seg := make([]byte, n)
	for s := range nseg {
		start := int64(binary.LittleEndian.Uint32(b[4+4*s:]))
		end := int64(len(b))
		if s+1 < nseg {
			end = int64(binary.LittleEndian.Uint32(b[8+4*s:]))
		}
		if start < 64 || start > end || end > int64(len(b)) {
			return nil, fmt.Errorf("RLE segment %d offsets [%d, %d) outside the frame of %d bytes", s, start, end, len(b))
		}
		if err := unpackBits(b[start:end], seg); err != nil {
			return nil, fmt.Errorf("RLE segment %d: %w", s, err)
		}
		shift := uint(8 * (bps - 1 - s))
		for i, v := range seg {
			out[i] |= uint32(v) << shift
		}
	}
	return out, nil
}

// unpackBits decodes PackBits into exactly len(dst) bytes: a control byte n in 0..127
// copies the next n+1 bytes, in -127..-1 repeats the next byte 1-n times, -128 is a no-op.
func unpackBits(src, dst []byte) error {
	o := 0
	for i := 0; o < len(dst); {
		if i >= len(src) {
			return fmt.Errorf("ends after %d of %d bytes", o, len(dst))
		}
		n := int(int8(src[i]))
		i++
		switch {
		case n >= 0:
			if i+n+1 > len(src) || o+n+1 > len(dst) {
				return fmt.Errorf("literal run of %d bytes overflows", n+1)
			}
			o += copy(dst[o:], src[i:i+n+1])
			i += n + 1
		case n > -128:
			if i >= len(src) || o+1-n > len(dst) {
				return fmt.Errorf("repeat run of %d bytes overflows", 1-n)
			}
			for range 1 - n {
				dst[o] = src[i]
				o++
			}
			i++
		}
	}
	return nil
}

// jpegFrame decodes one 8-bit greyscale JPEG (baseline or extended) frame with Go's
// image/jpeg, after checking its size against Rows and Columns.
func jpegFrame(b []byte, rows, cols int) ([]uint32, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("JPEG: %w", err)
	}
	if cfg.Width != cols || cfg.Height != rows {
		return nil, fmt.Errorf("JPEG frame is %dx%d, Rows x Columns say %dx%d", cfg.Height, cfg.Width, rows, cols)
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("JPEG: %w", err)
	}
	g, ok := img.(*image.Gray)
	if !ok {
		return nil, fmt.Errorf("JPEG frame decodes to %T, want greyscale", img)
	}
	out := make([]uint32, rows*cols)
	for y := range rows {
		for x := range cols {
			out[y*cols+x] = uint32(g.Pix[y*g.Stride+x])
		}
	}
	return out, nil
}
