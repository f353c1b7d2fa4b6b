package dicom

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// The suyashkumar/dicom parser allocates each element's value from the length the file
// claims (up to 4 GiB) before reading it, and recurses into nested sequences without
// bound. scan walks the element structure first, the way that parser will, and
// rejects any length larger than the bytes left in its enclosing item or file and any
// nesting deeper than maxDepth, so that a malformed or hostile file costs at most about
// its own size in memory.

const (
	undefinedLength = 0xFFFFFFFF
	maxDepth        = 32
)

// syntax is what a transfer syntax means for parsing.
type syntax struct {
	uid      string
	bo       binary.ByteOrder
	implicit bool
}

// scanner walks b from pos; errors carry the offset.
type scanner struct {
	b        []byte
	pos      int
	bo       binary.ByteOrder
	implicit bool
	val      []byte // value of the last element skipped
}

func (s *scanner) fail(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) u16(end int) (uint16, error) {
	if end-s.pos < 2 {
		return 0, s.fail("truncated")
	}
	v := s.bo.Uint16(s.b[s.pos:])
	s.pos += 2
	return v, nil
}

func (s *scanner) u32(end int) (uint32, error) {
	if end-s.pos < 4 {
		return 0, s.fail("truncated")
	}
	v := s.bo.Uint32(s.b[s.pos:])
	s.pos += 4
	return v, nil
}

// header reads the tag, VR and length of the next element as the parser does
// (reader.readTag, readVR, readVL).
func (s *scanner) header(end int) (t tag.Tag, vr string, vl uint32, err error) {
	g, err := s.u16(end)
	if err != nil {
		return t, "", 0, err
	}
	e, err := s.u16(end)
	if err != nil {
		return t, "", 0, err
	}
	t = tag.Tag{Group: g, Element: e}
	if s.implicit || t == tag.Item {
		vr = tag.UnknownVR
		if info, ferr := tag.Find(t); ferr == nil {
			vr = info.VRs[0]
			if info.Tag == tag.PixelData || info.Tag == tag.OverlayData {
				vr = "OW"
			}
		}
		vl, err = s.u32(end)
		return t, vr, vl, err
	}
	if end-s.pos < 2 {
		return t, "", 0, s.fail("truncated VR")
	}
	vr = string(s.b[s.pos : s.pos+2])
	s.pos += 2
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		if end-s.pos < 2 {
			return t, "", 0, s.fail("truncated")
		}
		s.pos += 2
		if vl, err = s.u32(end); err == nil && vl == undefinedLength && (vr == "UC" || vr == "UR" || vr == "UT") {
			err = s.fail("element %v: VR %s with undefined length", t, vr)
		}
		return t, vr, vl, err
	}
	v16, err := s.u16(end)
	vl = uint32(v16)
	if v16 == 0xFFFF {
		vl = undefinedLength
	}
	return t, vr, vl, err
}

// skip checks that a defined length fits before end and moves past the value.
func (s *scanner) skip(t tag.Tag, vl uint32, end int) error {
	if int64(vl) > int64(end-s.pos) {
		return s.fail("element %v claims %d bytes, only %d left", t, vl, end-s.pos)
	}
	s.val = s.b[s.pos : s.pos+int(vl)]
	s.pos += int(vl)
	return nil
}

// element walks one element and everything nested in it; it returns the element's tag.
func (s *scanner) element(end, depth int) (tag.Tag, error) {
	if depth > maxDepth {
		return tag.Tag{}, s.fail("sequences nested deeper than %d", maxDepth)
	}
	t, vr, vl, err := s.header(end)
	if err != nil {
		return t, err
	}
	kind := tag.GetVRKind(t, vr)
	if vl != undefinedLength {
		switch kind {
		case tag.VRSequence:
			return t, s.items(t, s.pos+int(min(int64(vl), int64(end-s.pos))), vl, end, depth, tag.Item)
		case tag.VRItem:
			return t, s.items(t, s.pos+int(min(int64(vl), int64(end-s.pos))), vl, end, depth, tag.Tag{})
		}
		return t, s.skip(t, vl, end)
	}
	switch kind {
	case tag.VRSequence, tag.VRUnknown:
		return t, s.undefinedItems(end, depth, tag.SequenceDelimitationItem)
	case tag.VRItem:
		return t, s.undefinedItems(end, depth, tag.ItemDelimitationItem)
	case tag.VRBytes, tag.VRPixelData:
		return t, s.fragments(end, kind == tag.VRPixelData)
	}
	return t, s.fail("element %v (VR %s) has undefined length", t, vr)
}

// items walks a defined-length sequence (want = tag.Item: every element must be an item)
// or item (want = zero tag: any element) of vl bytes ending at stop.
func (s *scanner) items(t tag.Tag, stop int, vl uint32, end, depth int, want tag.Tag) error {
	if int64(vl) > int64(end-s.pos) {
		return s.fail("element %v claims %d bytes, only %d left", t, vl, end-s.pos)
	}
	for s.pos < stop {
		st, err := s.element(stop, depth+1)
		if err != nil {
			return err
		}
		if want == tag.Item && st != tag.Item {
			return s.fail("element %v found in sequence %v where an item was expected", st, t)
		}
	}
	return nil
}

// undefinedItems walks elements until the delimiter (sequence or item delimitation).
func (s *scanner) undefinedItems(end, depth int, delim tag.Tag) error {
	for {
		st, err := s.element(end, depth+1)
		if err != nil {
			return err
		}
		if st == delim {
			return nil
		}
		if delim == tag.SequenceDelimitationItem && st != tag.Item {
			return s.fail("element %v found in a sequence where an item was expected", st)
		}
	}
}

// fragments walks the raw items of encapsulated pixel data or an undefined-length OB/OW
// value (reader.readRawItem): tag and 4-byte length, always implicit.
func (s *scanner) fragments(end int, pixelData bool) error {
	for s.pos < end {
		g, err := s.u16(end)
		if err != nil {
			return err
		}
		e, err := s.u16(end)
		if err != nil {
			return err
		}
		vl, err := s.u32(end)
		if err != nil {
			return err
		}
		t := tag.Tag{Group: g, Element: e}
		if t == tag.SequenceDelimitationItem {
			return nil
		}
		if t != tag.Item || vl == undefinedLength {
			continue // the parser skips such headers too
		}
		if err := s.skip(t, vl, end); err != nil {
			return err
		}
	}
	if pixelData {
		return nil // the parser stops at the end of the file
	}
	return s.fail("missing sequence delimitation item")
}

// scan checks a whole Part 10 file and returns its transfer syntax.
func scan(b []byte) (syntax, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return syntax{}, fmt.Errorf("not a DICOM Part 10 file (no \"DICM\" after the 128-byte preamble)")
	}
	s := &scanner{b: b, pos: 132, bo: binary.LittleEndian}
	t, vr, vl, err := s.header(len(b))
	if err != nil {
		return syntax{}, err
	}
	if t != tag.FileMetaInformationGroupLength || vr != "UL" || vl != 4 {
		return syntax{}, s.fail("file meta information must start with its group length (0002,0000) UL, found %v %s", t, vr)
	}
	metaLen, err := s.u32(len(b))
	if err != nil {
		return syntax{}, err
	}
	if int64(metaLen) > int64(len(b)-s.pos) {
		return syntax{}, s.fail("file meta group length %d exceeds the file", metaLen)
	}
	metaEnd := s.pos + int(metaLen)
	ts := ""
	for s.pos < metaEnd {
		s.val = nil
		t, err := s.element(metaEnd, 0)
		if err != nil {
			return syntax{}, err
		}
		if t == tag.TransferSyntaxUID && ts == "" {
			// As the parser: trim spaces and NULs, keep the first of backslash-separated values.
			ts, _, _ = strings.Cut(strings.Trim(string(s.val), " \x00"), `\`)
		}
	}
	if ts == "" {
		return syntax{}, fmt.Errorf("file meta information has no transfer syntax UID (0002,0010)")
	}
	syn := syntax{uid: ts, bo: binary.LittleEndian}
	switch ts {
	case uid.ImplicitVRLittleEndian:
		syn.implicit = true
	case uid.ExplicitVRBigEndian:
		syn.bo = binary.BigEndian
	case uid.DeflatedExplicitVRLittleEndian:
		return syn, fmt.Errorf("transfer syntax %s (deflated explicit VR little endian) is not supported: %w", ts, ErrUnsupported)
	default:
		if info, err := uid.Lookup(ts); err != nil || info.Type != uid.TypeTransferSyntax {
			return syn, fmt.Errorf("unknown transfer syntax %q", ts)
		}
	}
	s.bo, s.implicit = syn.bo, syn.implicit
	for s.pos < len(b) {
		if _, err := s.element(len(b), 0); err != nil {
			return syn, err
		}
	}
	return syn, nil
}
