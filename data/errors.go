package data

import (
	"errors"
	"strings"
)

// Sentinel errors that callers may branch on with errors.Is. Every error returned by
// this package also names the file (and array) it is about.
var (
	// ErrFormat: the file is not a readable .npz archive or .npy array (truncated,
	// corrupt, unsupported NumPy layout).
	ErrFormat = errors.New("invalid format")
	// ErrMissingKey: one of the six MedMNIST arrays is missing from the archive.
	ErrMissingKey = errors.New("missing key")
	// ErrDType: an array does not hold uint8 values.
	ErrDType = errors.New("wrong dtype")
	// ErrShape: an array's shape is not a MedMNIST shape or disagrees with another array.
	ErrShape = errors.New("wrong shape")
	// ErrLabel: a label lies outside [0, NumClasses) (or is not 0/1 for multi-label sets).
	ErrLabel = errors.New("label out of range")
	// ErrArgument: a caller-supplied argument is invalid (fraction, ratio, batch size...).
	ErrArgument = errors.New("invalid argument")
	// ErrMultiLabel: the operation needs one class per example and the split is multi-label.
	ErrMultiLabel = errors.New("multi-label split not supported")
)

// FileError is the error type returned for problems with a data file: a MedMNIST
// archive, a manifest, or (from package data/folder) an image file or labels CSV. Its
// message reads "PKG: FILE: KEY: MSG", where PKG is the reporting package ("data" unless
// Pkg says otherwise); errors.Is matches Kind (one of the sentinels above) and the
// underlying cause, if any.
type FileError struct {
	Pkg  string // reporting package, the message's prefix: "data" when empty, or e.g. "folder"
	File string // the file's base name, e.g. "breastmnist.npz" (an image's path in its folder)
	Key  string // array name, e.g. "val_labels"; empty for whole-file problems
	Msg  string // what is wrong
	Kind error  // one of the package's sentinel errors
	Err  error  // underlying cause, may be nil
}

// Error implements error.
func (e *FileError) Error() string {
	var b strings.Builder
	if e.Pkg == "" {
		b.WriteString("data")
	} else {
		b.WriteString(e.Pkg)
	}
	b.WriteString(": ")
	b.WriteString(e.File)
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see both the sentinel and the cause.
func (e *FileError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
