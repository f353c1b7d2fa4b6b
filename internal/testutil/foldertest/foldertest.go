// Package foldertest writes real images to disk as the image files that package
// data/folder reads, for the tests of data/folder and data/stream: the first BreastMNIST
// training images, encoded as PNG or JPEG, in class sub-folders or wherever a test puts
// them.
//
// It is a package of its own, apart from package testutil, so that the tests of the data
// packages, the lowest layer, depend on nothing above package data.
package foldertest

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
)

// Classes names BreastMNIST's labels 0 and 1, the class folders WriteClasses makes;
// sorted, they keep that order, so a folder's label i is BreastMNIST's label i.
var Classes = []string{"malignant", "normal_benign"}

// Split returns the first n real BreastMNIST training images (28x28 grayscale).
func Split(t testing.TB, n int) *data.Split {
	t.Helper()
	d, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return d.Train.Subset(idx)
}

// Gray returns example i of the grayscale split s as an image.Gray (a copy of its pixels).
func Gray(s *data.Split, i int) *image.Gray {
	return &image.Gray{Pix: append([]uint8(nil), s.Image(i)...), Stride: s.Width, Rect: image.Rect(0, 0, s.Width, s.Height)}
}

// Encode encodes img as "png" or, for any other format, as JPEG of quality 95.
func Encode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Write writes b to dir/rel (rel slash-separated), creating folders.
func Write(t testing.TB, dir, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteClasses writes every image of the grayscale split s, encoded as format ("png" or
// "jpeg"), to <class>/img<index>.<ext> of a new temporary folder (class from Classes,
// index as IndexOf reads it back) and returns the folder.
func WriteClasses(t testing.TB, s *data.Split, format string) string {
	t.Helper()
	dir := t.TempDir()
	ext := map[string]string{"png": "png", "jpeg": "jpg"}[format]
	for i := range s.N {
		Write(t, dir, fmt.Sprintf("%s/img%04d.%s", Classes[s.Label(i)], i, ext), Encode(t, Gray(s, i), format))
	}
	return dir
}

// IndexOf parses the example index from a file name "…img0042.png".
func IndexOf(t testing.TB, file string) int {
	t.Helper()
	var i int
	base := file[strings.LastIndex(file, "img"):]
	if _, err := fmt.Sscanf(base, "img%04d", &i); err != nil {
		t.Fatalf("file %s: %v", file, err)
	}
	return i
}
