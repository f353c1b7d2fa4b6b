package data

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/sbinet/npyio/npy"
)

// Limits used to refuse hostile headers before anything is allocated.
const (
	// maxHeaderLen bounds a .npy header's dictionary; NumPy writes under 200 bytes and
	// itself refuses headers over 10,000 bytes by default.
	maxHeaderLen = 1 << 16
	// maxDeflateRatio bounds how much a deflated zip entry can expand (deflate's
	// theoretical maximum is about 1032:1).
	maxDeflateRatio = 1032
)

var uint8Type = reflect.TypeOf(uint8(0))

// array is one uint8 NumPy array read from an archive entry.
type array struct {
	shape []int
	data  []uint8
}

// countingReader counts the bytes that npyio really consumed: npyio ignores short reads
// at the end of a stream, so a truncated array would otherwise be padded silently.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// readArray reads the uint8 array stored in zip entry f with npyio, after checking every
// size its headers claim against the bytes available. file and key name errors.
func readArray(f *zip.File, archiveSize int64, file, key string) (arr array, err error) {
	fail := func(kind error, cause error, format string, args ...any) (array, error) {
		return array{}, &FileError{File: file, Key: key, Msg: fmt.Sprintf(format, args...), Kind: kind, Err: cause}
	}
	// The zip directory's sizes bound what can be read; check them against the archive.
	if f.CompressedSize64 > uint64(archiveSize) {
		return fail(ErrFormat, nil, "compressed size %d exceeds archive size %d", f.CompressedSize64, archiveSize)
	}
	switch f.Method {
	case zip.Store:
		if f.UncompressedSize64 != f.CompressedSize64 {
			return fail(ErrFormat, nil, "stored entry has sizes %d and %d", f.UncompressedSize64, f.CompressedSize64)
		}
	case zip.Deflate:
		if f.UncompressedSize64/maxDeflateRatio > f.CompressedSize64 {
			return fail(ErrFormat, nil, "uncompressed size %d is impossible for %d compressed bytes", f.UncompressedSize64, f.CompressedSize64)
		}
	default:
		return fail(ErrFormat, nil, "unsupported zip compression method %d", f.Method)
	}
	total := f.UncompressedSize64

	rc, err := f.Open()
	if err != nil {
		return fail(ErrFormat, err, "cannot open archive entry")
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)

	// Preamble: magic (6 bytes), major, minor, header length (uint16 for v1, uint32 for v2/v3).
	pre, err := br.Peek(10)
	if err != nil {
		return fail(ErrFormat, err, "not a .npy array (too short)")
	}
	if [6]byte(pre[:6]) != npy.Magic {
		return fail(ErrFormat, nil, "not a .npy array (bad magic)")
	}
	var preLen, hdrLen uint64
	switch pre[6] {
	case 1:
		preLen, hdrLen = 10, uint64(binary.LittleEndian.Uint16(pre[8:10]))
	case 2, 3:
		p, err := br.Peek(12)
		if err != nil {
			return fail(ErrFormat, err, "truncated .npy preamble")
		}
		preLen, hdrLen = 12, uint64(binary.LittleEndian.Uint32(p[8:12]))
	default:
		return fail(ErrFormat, nil, "unsupported .npy version %d.%d", pre[6], pre[7])
	}
	if hdrLen > maxHeaderLen || preLen+hdrLen > total {
		return fail(ErrFormat, nil, ".npy header length %d exceeds entry size %d", hdrLen, total)
	}

	cr := &countingReader{r: br}
	rd, err := newNpyReader(cr)
	if err != nil {
		return fail(ErrFormat, err, "cannot parse .npy header")
	}
	hdr := rd.Header
	if npy.TypeFrom(hdr.Descr.Type) != uint8Type {
		return fail(ErrDType, nil, "dtype %q, want uint8", hdr.Descr.Type)
	}
	if hdr.Descr.Fortran {
		return fail(ErrFormat, nil, "fortran_order arrays are not supported")
	}
	shape := hdr.Descr.Shape
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return fail(ErrShape, nil, "negative dimension in shape %v", shape)
		}
		if d > 0 && n > math.MaxInt32/uint64(d) {
			return fail(ErrShape, nil, "shape %v too large", shape)
		}
		n *= uint64(d)
	}
	if headerEnd := uint64(cr.n); headerEnd+n != total {
		return fail(ErrFormat, nil, "shape %v needs %d data bytes, entry holds %d", shape, n, int64(total)-int64(headerEnd))
	}
	arr.shape = append([]int(nil), shape...)
	arr.data = make([]uint8, n)
	if n > 0 {
		start := cr.n
		if err := readNpyData(rd, &arr.data); err != nil {
			return fail(ErrFormat, err, "cannot read array data")
		}
		if got := uint64(cr.n - start); got != n {
			return fail(ErrFormat, nil, "truncated array data: read %d of %d bytes", got, n)
		}
	}
	// Reading to EOF makes archive/zip verify the entry's size and CRC-32.
	if _, err := io.Copy(io.Discard, io.LimitReader(br, 1)); err != nil {
		return fail(ErrFormat, err, "corrupt archive entry")
	}
	return arr, nil
}

// newNpyReader parses a .npy header with npyio. npyio indexes into the header without
// bounds checks, so a malformed header can panic inside it: that becomes an error.
func newNpyReader(r io.Reader) (rd *npy.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			rd, err = nil, fmt.Errorf("malformed .npy header (%v)", p)
		}
	}()
	return npy.NewReader(r)
}

// readNpyData reads the array body with npyio, turning any panic into an error.
func readNpyData(rd *npy.Reader, dst *[]uint8) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("npyio: %v", p)
		}
	}()
	return rd.Read(dst)
}
