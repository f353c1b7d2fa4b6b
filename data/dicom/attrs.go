package dicom

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	dcm "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// attrs reads attributes from a list of elements (a dataset or a sequence item).
type attrs []*dcm.Element

func (a attrs) find(t tag.Tag) *dcm.Element {
	for _, e := range a {
		if e.Tag == t {
			return e
		}
	}
	return nil
}

// str returns the first string value of t, trimmed; "" if absent.
func (a attrs) str(t tag.Tag) string {
	e := a.find(t)
	if e == nil || e.Value == nil || e.Value.ValueType() != dcm.Strings {
		return ""
	}
	if s, _ := e.Value.GetValue().([]string); len(s) > 0 {
		return strings.TrimSpace(s[0])
	}
	return ""
}

// nums returns the numeric values of t (DS/IS strings, US/UL/SS/SL ints or FL/FD
// floats); nil if absent, an error if present but not numbers.
func (a attrs) nums(t tag.Tag) ([]float64, error) {
	e := a.find(t)
	if e == nil || e.Value == nil {
		return nil, nil
	}
	var out []float64
	switch v := e.Value.GetValue().(type) {
	case []string:
		for _, s := range v {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%s %v: %q is not a number", tagName(t), t, s)
			}
			out = append(out, x)
		}
	case []int:
		for _, x := range v {
			out = append(out, float64(x))
		}
	case []float64:
		out = v
	default:
		return nil, fmt.Errorf("%s %v: not a numeric value", tagName(t), t)
	}
	return out, nil
}

// num returns the first value of t, or def if absent.
func (a attrs) num(t tag.Tag, def float64) (float64, error) {
	v, err := a.nums(t)
	if err != nil || len(v) == 0 {
		return def, err
	}
	return v[0], nil
}

// vec returns exactly n values of t; ok is false if absent.
func (a attrs) vec(t tag.Tag, n int) (v []float64, ok bool, err error) {
	v, err = a.nums(t)
	if err != nil || v == nil {
		return nil, false, err
	}
	if len(v) != n {
		return nil, false, fmt.Errorf("%s %v has %d values, want %d", tagName(t), t, len(v), n)
	}
	return v, true, nil
}

// item returns the first item of sequence t, or nil.
func (a attrs) item(t tag.Tag) attrs {
	items := a.items(t)
	if len(items) == 0 {
		return nil
	}
	return items[0]
}

// items returns the items of sequence t.
func (a attrs) items(t tag.Tag) []attrs {
	e := a.find(t)
	if e == nil || e.Value == nil || e.Value.ValueType() != dcm.Sequences {
		return nil
	}
	seq, _ := e.Value.GetValue().([]*dcm.SequenceItemValue)
	out := make([]attrs, 0, len(seq))
	for _, it := range seq {
		if it == nil {
			continue
		}
		els, _ := it.GetValue().([]*dcm.Element)
		out = append(out, attrs(els))
	}
	return out
}

func tagName(t tag.Tag) string {
	if info, err := tag.Find(t); err == nil {
		return info.Name
	}
	return "element"
}

// Tags of the enhanced multi-frame functional groups (PS3.3 C.7.6.16).
