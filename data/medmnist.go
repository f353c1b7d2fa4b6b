package data

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
)

// Dataset is a MedMNIST set: its three splits and the task they pose.
type Dataset struct {
	Name       string // file name without ".npz", e.g. "pneumoniamnist_imbalanced"
	File       string // base file name, used in error messages
	Known      bool   // whether Name matched a set of KnownSets (else the task was inferred or given)
	Task       Task
	NumClasses int // classes, or labels per image for MultiLabel
	// Classes names the classes (or labels) when the source has names (image folders,
	// CSV columns); nil for MedMNIST files, whose classes are numbers.
	Classes          []string
	Train, Val, Test *Split
}

// Splits returns train, val and test, in that order.
func (d *Dataset) Splits() []*Split { return []*Split{d.Train, d.Val, d.Test} }

// LoadOption changes how a MedMNIST file is interpreted.
type LoadOption func(*loadConfig)

type loadConfig struct {
	task       Task
	numClasses int
	override   bool
}

// WithTask sets the task and number of classes (labels per image for MultiLabel) instead
// of taking them from KnownSets or inferring them. The labels are still validated
// against them.
func WithTask(task Task, numClasses int) LoadOption {
	return func(c *loadConfig) { c.task, c.numClasses, c.override = task, numClasses, true }
}

// LoadMedMNIST reads a MedMNIST .npz file from disk. See ReadMedMNIST.
func LoadMedMNIST(path string, opts ...LoadOption) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return ReadMedMNIST(f, st.Size(), baseName(path), opts...)
}

// splitNames are the split prefixes of the MedMNIST array keys, in Dataset order.
var splitNames = []string{"train", "val", "test"}

// ReadMedMNIST reads a MedMNIST .npz archive of the given size from r. name is the file
// name: it selects the known set (see LookupSet) and appears in error messages.
//
// The task and class count come from, in order: a WithTask option; the KnownSets entry
// matching name; otherwise they are inferred from the labels: LabelDim > 1 is
// MultiLabel with LabelDim labels, else NumClasses = max(2, largest label + 1), Binary
// when that is 2 and MultiClass otherwise.
//
// It checks that all six arrays are present and uint8; that images are [N,H,W] or
// [N,H,W,C] with H = W and C in {1, 3}, the same H, W, C in all splits; that labels are
// [N] or [N,L] with the images' N and the same L in all splits; and that every label is
// in [0, NumClasses) (0 or 1 for MultiLabel). Errors are *FileError values wrapping one
// of ErrFormat, ErrMissingKey, ErrDType, ErrShape or ErrLabel.
func ReadMedMNIST(r io.ReaderAt, size int64, name string, opts ...LoadOption) (*Dataset, error) {
	var cfg loadConfig
	for _, o := range opts {
		o(&cfg)
	}
	file := baseName(name)
	fail := func(key string, kind error, format string, args ...any) error {
		return &FileError{File: file, Key: key, Msg: fmt.Sprintf(format, args...), Kind: kind}
	}
	if cfg.override {
		if cfg.task < Binary || cfg.task > MultiLabel {
			return nil, fail("", ErrArgument, "WithTask: unknown task %v", cfg.task)
		}
		if cfg.numClasses < 2 || (cfg.task == Binary && cfg.numClasses != 2) {
			return nil, fail("", ErrArgument, "WithTask: %d classes for a %v task", cfg.numClasses, cfg.task)
		}
	}
	if size < 0 {
		return nil, fail("", ErrArgument, "negative size %d", size)
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, &FileError{File: file, Msg: "not a readable .npz (zip) archive", Kind: ErrFormat, Err: err}
	}
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		key := strings.TrimSuffix(f.Name, ".npy")
		if _, dup := entries[key]; !dup {
			entries[key] = f
		}
	}
	for _, sp := range splitNames {
		for _, kind := range []string{"_images", "_labels"} {
			if entries[sp+kind] == nil {
				return nil, fail(sp+kind, ErrMissingKey, "array missing from archive (keys: %s)", strings.Join(sortedKeys(entries), ", "))
			}
		}
	}

	d := &Dataset{Name: strings.TrimSuffix(file, ".npz"), File: file}
	var first *Split
	for _, sp := range splitNames {
		imgKey, lblKey := sp+"_images", sp+"_labels"
		img, err := readArray(entries[imgKey], size, file, imgKey)
		if err != nil {
			return nil, err
		}
		lbl, err := readArray(entries[lblKey], size, file, lblKey)
		if err != nil {
			return nil, err
		}
		s := &Split{Name: sp, Images: img.data}
		switch {
		case len(img.shape) == 3:
			s.N, s.Height, s.Width, s.Channels = img.shape[0], img.shape[1], img.shape[2], 1
		case len(img.shape) == 4 && (img.shape[3] == 1 || img.shape[3] == 3):
			s.N, s.Height, s.Width, s.Channels = img.shape[0], img.shape[1], img.shape[2], img.shape[3]
		default:
			return nil, fail(imgKey, ErrShape, "shape %v, want [N H W] or [N H W C] with C 1 or 3", img.shape)
		}
		if s.N == 0 || s.Height == 0 || s.Height != s.Width {
			return nil, fail(imgKey, ErrShape, "shape %v, want N > 0 square images", img.shape)
		}
		switch {
		case len(lbl.shape) == 1 && lbl.shape[0] == s.N:
			s.LabelDim = 1
		case len(lbl.shape) == 2 && lbl.shape[0] == s.N && lbl.shape[1] > 0:
			s.LabelDim = lbl.shape[1]
		default:
			return nil, fail(lblKey, ErrShape, "shape %v does not match %s %v", shapeList(lbl.shape), imgKey, shapeList(img.shape))
		}
		if first != nil {
			if s.Height != first.Height || s.Width != first.Width || s.Channels != first.Channels {
				return nil, fail(imgKey, ErrShape, "images are %dx%dx%d, train_images are %dx%dx%d",
					s.Height, s.Width, s.Channels, first.Height, first.Width, first.Channels)
			}
			if s.LabelDim != first.LabelDim {
				return nil, fail(lblKey, ErrShape, "%d labels per example, train_labels has %d", s.LabelDim, first.LabelDim)
			}
		} else {
			first = s
		}
		s.Labels = make([]int32, len(lbl.data))
		for i, v := range lbl.data {
			s.Labels[i] = int32(v)
		}
		switch sp {
		case "train":
			d.Train = s
		case "val":
			d.Val = s
		default:
			d.Test = s
		}
	}

	// Task and classes: option, table, or inference.
	labelDim := first.LabelDim
	switch info, known := LookupSet(file); {
	case cfg.override:
		d.Task, d.NumClasses = cfg.task, cfg.numClasses
	case known:
		d.Known, d.Task, d.NumClasses = true, info.Task, info.NumClasses
	case labelDim > 1:
		d.Task, d.NumClasses = MultiLabel, labelDim
	default:
		if err := inferClasses(d, fail); err != nil {
			return nil, err
		}
	}
	for _, s := range d.Splits() {
		lblKey := s.Name + "_labels"
		if d.Task == MultiLabel {
			if s.LabelDim != d.NumClasses {
				return nil, fail(lblKey, ErrShape, "%d labels per example, %s has %d", s.LabelDim, d.Name, d.NumClasses)
			}
			for i, v := range s.Labels {
				if v != 0 && v != 1 {
					return nil, fail(lblKey, ErrLabel, "example %d label %d is %d, want 0 or 1", i/s.LabelDim, i%s.LabelDim, v)
				}
			}
		} else {
			if s.LabelDim != 1 {
				return nil, fail(lblKey, ErrShape, "%d labels per example for a %v task, want 1", s.LabelDim, d.Task)
			}
			for i, v := range s.Labels {
				if int(v) >= d.NumClasses {
					return nil, fail(lblKey, ErrLabel, "example %d has label %d, want [0, %d)", i, v, d.NumClasses)
				}
			}
		}
		s.Task, s.NumClasses = d.Task, d.NumClasses
	}
	return d, nil
}

// inferClasses sets the task and class count of an unknown single-label set from its
// labels: NumClasses = max(2, largest label + 1). Every class below the largest label must
// occur in some split: a gap means a sparse or corrupted label (a 5-class file with one
// label 250 would otherwise become a 251-class task), and the error names where the
// largest label is; WithTask declares a class count that some classes do not reach.
func inferClasses(d *Dataset, fail func(key string, kind error, format string, args ...any) error) error {
	maxLabel, where, at := int32(0), "", 0
	seen := map[int32]bool{}
	for _, s := range d.Splits() {
		for i, v := range s.Labels {
			seen[v] = true
			if v > maxLabel {
				maxLabel, where, at = v, s.Name+"_labels", i
			}
		}
	}
	d.NumClasses = max(2, int(maxLabel)+1)
	d.Task = MultiClass
	if d.NumClasses == 2 {
		d.Task = Binary
	}
	for c := range maxLabel {
		if !seen[c] {
			return fail(where, ErrLabel, "example %d has label %d, but only %d distinct labels occur in the file and class %d never does: a sparse or corrupted label? (declare the classes with data.WithTask if this is right)",
				at, maxLabel, len(seen), c)
		}
	}
	return nil
}

// MustLoadMedMNIST is LoadMedMNIST that panics on error, for examples and tests.
func MustLoadMedMNIST(path string, opts ...LoadOption) *Dataset {
	d, err := LoadMedMNIST(path, opts...)
	if err != nil {
		panic(err)
	}
	return d
}

// ReadMedMNISTBytes reads a MedMNIST archive held in memory.
func ReadMedMNISTBytes(b []byte, name string, opts ...LoadOption) (*Dataset, error) {
	return ReadMedMNIST(bytes.NewReader(b), int64(len(b)), name, opts...)
}

func shapeList(shape []int) string { return fmt.Sprint(shape) }

func sortedKeys(m map[string]*zip.File) []string { return slices.Sorted(maps.Keys(m)) }
