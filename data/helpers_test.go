package data

import (
	"os"
	"testing"

	"github.com/medssl/medssl/internal/testutil/npztest"

	"github.com/medssl/medssl/internal/testdata"
)

// realBytes reads one of the test data files (internal/testdata).
func realBytes(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata.Path(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gray4 makes n 4x4 grayscale images whose first pixel is the image index.
func gray4(n int) [][4][4]uint8 {
	img := make([][4][4]uint8, n)
	for i := range img {
		img[i][0][0] = uint8(i)
		img[i][1][2] = uint8(100 + i)
	}
	return img
}

// binLabels makes n [N,1] labels alternating 0, 1.
func binLabels(n int) [][1]uint8 {
	l := make([][1]uint8, n)
	for i := range l {
		l[i][0] = uint8(i % 2)
	}
	return l
}

// smallNpz is a valid 4x4 grayscale binary archive with 6/4/4 examples.
func smallNpz(t testing.TB) []byte {
	return npztest.Write(t,
		npztest.Entry{Key: "train_images", Val: gray4(6)}, npztest.Entry{Key: "train_labels", Val: binLabels(6)},
		npztest.Entry{Key: "val_images", Val: gray4(4)}, npztest.Entry{Key: "val_labels", Val: binLabels(4)},
		npztest.Entry{Key: "test_images", Val: gray4(4)}, npztest.Entry{Key: "test_labels", Val: binLabels(4)},
	)
}
