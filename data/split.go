package data

import (
	"fmt"
	"math"
	"slices"
)

// Split is one of a dataset's train, val or test parts, held in memory as in the file.
type Split struct {
	Name                    string // "train", "val" or "test" (subsets keep their parent's name)
	N                       int    // number of examples
	Height, Width, Channels int
	Images                  []uint8 // N*Height*Width*Channels bytes, channels-last
	Labels                  []int32 // N*LabelDim values
	LabelDim                int     // 1 for single-label tasks, L for multi-label
	Task                    Task
	NumClasses              int // classes (single-label) or labels per image (multi-label)
	// Patients holds each example's patient id when the source knows it (image folders
	// with a CSV or a patient rule; NIfTI slices carry their volume), nil otherwise: every
	// example is then its own patient. Cross-validation folds keep a patient's examples
	// together.
	Patients []string
}

// ImageSize is the number of bytes (values) of one image: Height*Width*Channels.
func (s *Split) ImageSize() int { return s.Height * s.Width * s.Channels }

// Image returns example i's pixels, [Height,Width,Channels] flattened. It shares memory
// with the split.
func (s *Split) Image(i int) []uint8 {
	sz := s.ImageSize()
	return s.Images[i*sz : (i+1)*sz : (i+1)*sz]
}

// Label returns example i's class. It panics for multi-label splits, like an index out of
// range: use LabelRow there.
func (s *Split) Label(i int) int {
	if s.LabelDim != 1 {
		panic(fmt.Sprintf("data: Split.Label called on a split with %d labels per example; use LabelRow", s.LabelDim))
	}
	return int(s.Labels[i])
}

// IntLabels returns a single-label split's classes as ints, the form package
// eval/metrics takes. It panics for multi-label splits, like Label.
func (s *Split) IntLabels() []int {
	out := make([]int, s.N)
	for i := range out {
		out[i] = s.Label(i)
	}
	return out
}

// MultiLabel reports whether the split holds LabelDim independent 0/1 labels per example
// (Task MultiLabel) rather than one class.
func (s *Split) MultiLabel() bool { return s.LabelDim != 1 || !s.Task.SingleLabel() }

// IntLabelRows returns the labels as N rows of LabelDim ints: for a multi-label split, the
// N x L 0/1 matrix package eval/metrics takes (metrics.ComputeMultiLabel).
func (s *Split) IntLabelRows() [][]int {
	out := make([][]int, s.N)
	for i := range out {
		row := make([]int, s.LabelDim)
		for k, v := range s.LabelRow(i) {
			row[k] = int(v)
		}
		out[i] = row
	}
	return out
}

// CheckLabels reports labels a learner cannot use, naming the split and the example:
// Labels of other than N*LabelDim values; for single-label splits a class outside
// [0, NumClasses); for multi-label splits LabelDim other than NumClasses or a value other
// than 0 and 1. Splits read by this package's loaders always pass; splits built in code
// may not.
func (s *Split) CheckLabels() error {
	if s == nil {
		return fmt.Errorf("data: nil split: %w", ErrArgument)
	}
	if s.LabelDim < 1 || len(s.Labels) != s.N*s.LabelDim {
		return fmt.Errorf("data: split %q: %d label values for %d examples of %d labels: %w", s.Name, len(s.Labels), s.N, s.LabelDim, ErrShape)
	}
	if s.MultiLabel() {
		if s.Task != MultiLabel || s.LabelDim != s.NumClasses {
			return fmt.Errorf("data: split %q: %d labels per example, task %v with %d labels: %w", s.Name, s.LabelDim, s.Task, s.NumClasses, ErrShape)
		}
		for i, v := range s.Labels {
			if v != 0 && v != 1 {
				return fmt.Errorf("data: split %q: example %d label %d is %d, want 0 or 1: %w", s.Name, i/s.LabelDim, i%s.LabelDim, v, ErrLabel)
			}
		}
		return nil
	}
	for i, v := range s.Labels {
		if v < 0 || int(v) >= s.NumClasses {
			return fmt.Errorf("data: split %q: example %d has label %d, want [0, %d): %w", s.Name, i, v, s.NumClasses, ErrLabel)
		}
	}
	return nil
}

// LabelRow returns example i's LabelDim labels. It shares memory with the split.
func (s *Split) LabelRow(i int) []int32 {
	return s.Labels[i*s.LabelDim : (i+1)*s.LabelDim : (i+1)*s.LabelDim]
}

// ClassCounts returns, for single-label splits, the number of examples of each class
// (length NumClasses); for multi-label splits, the number of positive examples of each
// label (length LabelDim).
func (s *Split) ClassCounts() []int {
	if s.MultiLabel() {
		counts := make([]int, s.LabelDim)
		for i, v := range s.Labels {
			if v != 0 {
				counts[i%s.LabelDim]++
			}
		}
		return counts
	}
	counts := make([]int, s.NumClasses)
	for _, v := range s.Labels {
		counts[v]++
	}
	return counts
}

// ClassIndices returns, for a single-label split, the indices of each class's examples in
// increasing order.
func (s *Split) ClassIndices() [][]int {
	idx := make([][]int, s.NumClasses)
	for i, v := range s.Labels {
		idx[v] = append(idx[v], i)
	}
	return idx
}

// Subset returns a new split holding copies of the given examples, in the given order
// (repeats allowed). It panics if an index is out of range, like slice indexing.
func (s *Split) Subset(indices []int) *Split {
	sz := s.ImageSize()
	out := *s
	out.N = len(indices)
	out.Images = make([]uint8, 0, len(indices)*sz)
	out.Labels = make([]int32, 0, len(indices)*s.LabelDim)
	if s.Patients != nil {
		out.Patients = make([]string, 0, len(indices))
	}
	for _, i := range indices {
		if i < 0 || i >= s.N {
			panic(fmt.Sprintf("data: Split.Subset: index %d out of range [0, %d)", i, s.N))
		}
		out.Images = append(out.Images, s.Image(i)...)
		out.Labels = append(out.Labels, s.LabelRow(i)...)
		if s.Patients != nil {
			out.Patients = append(out.Patients, s.Patients[i])
		}
	}
	return &out
}

// ConvertChannels returns a copy of s with c channels: grayscale to RGB replicates the
// value, RGB to grayscale is the ITU-R BT.601 luma round(0.299 R + 0.587 G + 0.114 B).
func ConvertChannels(s *Split, c int) (*Split, error) {
	pixels := s.Height * s.Width
	out := *s
	out.Channels = c
	out.Images = make([]uint8, s.N*pixels*c)
	switch {
	case s.Channels == 1 && c == 3:
		for i, v := range s.Images[:s.N*pixels] {
			out.Images[3*i], out.Images[3*i+1], out.Images[3*i+2] = v, v, v
		}
	case s.Channels == 3 && c == 1:
		for i := range out.Images {
			r, g, b := float64(s.Images[3*i]), float64(s.Images[3*i+1]), float64(s.Images[3*i+2])
			out.Images[i] = uint8(math.Round(min(255, 0.299*r+0.587*g+0.114*b)))
		}
	default:
		return nil, fmt.Errorf("data: cannot convert %d-channel images to %d channels (only grayscale↔RGB)", s.Channels, c)
	}
	return &out, nil
}

// Concat returns a new split holding a's examples then b's, named name: the development
// set of cross-validation is the train and val splits together. Both must have the same
// image shape and labels. Patient ids are kept; when only one split has them, the other's
// examples get ids of their own ("<split name>#<index>"), so no patient spans the two by
// accident.
func Concat(name string, a, b *Split) (*Split, error) {
	if a == nil || b == nil {
		return nil, fmt.Errorf("data: Concat: nil split: %w", ErrArgument)
	}
	if a.Height != b.Height || a.Width != b.Width || a.Channels != b.Channels || a.LabelDim != b.LabelDim ||
		a.NumClasses != b.NumClasses || a.Task != b.Task {
		return nil, fmt.Errorf("data: Concat: splits %q (%dx%dx%d, %s, %d classes) and %q (%dx%dx%d, %s, %d classes) differ: %w",
			a.Name, a.Height, a.Width, a.Channels, a.Task, a.NumClasses, b.Name, b.Height, b.Width, b.Channels, b.Task, b.NumClasses, ErrArgument)
	}
	out := *a
	out.Name, out.N = name, a.N+b.N
	out.Images = append(append(make([]uint8, 0, len(a.Images)+len(b.Images)), a.Images...), b.Images...)
	out.Labels = append(append(make([]int32, 0, len(a.Labels)+len(b.Labels)), a.Labels...), b.Labels...)
	out.Patients = nil
	if a.Patients != nil || b.Patients != nil {
		ids := func(s *Split) []string {
			if s.Patients != nil {
				return s.Patients
			}
			own := make([]string, s.N)
			for i := range own {
				own[i] = fmt.Sprintf("%s#%d", s.Name, i)
			}
			return own
		}
		out.Patients = append(slices.Clone(ids(a)), ids(b)...)
	}
	return &out, nil
}
