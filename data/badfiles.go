package data

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinels of the image-file loaders (package data/folder, and data/stream which
// streams a folder), beside the MedMNIST ones: ErrFormat marks corrupt or truncated
// images and labels CSVs, ErrShape images larger than the decode limit.
var (
	// ErrUnsupported: the file is not a PNG or JPEG image (by extension or content).
	ErrUnsupported = errors.New("unsupported image format")
	// ErrRead: the file could not be read (missing, permissions, I/O error).
	ErrRead = errors.New("unreadable file")
)

// BadFile is an image file a loader left out in skip mode (folder.SkipBadFiles), with
// the reason: a *FileError naming the file, wrapping ErrRead, ErrUnsupported, ErrFormat
// or ErrShape.
type BadFile struct {
	File string // path relative to the folder, slash-separated
	Err  error
}

// BadFiles is the report of files left out. Loaders never drop a file silently: unless
// told to skip bad files, the first bad file is an error; when skipping, the file is
// listed here.
type BadFiles []BadFile

// String lists one file per line with its reason ("" when there are none).
func (b BadFiles) String() string {
	var sb strings.Builder
	for _, f := range b {
		fmt.Fprintf(&sb, "%s: %v\n", f.File, f.Err)
	}
	return sb.String()
}
