package data

import (
	"archive/zip"
	"bytes"
	"os"
	"testing"

	"github.com/medssl/medssl/internal/testdata"
	"github.com/sbinet/npyio/npy"
)

// rawNpy is an entry written to an archive byte for byte, not through npy.Write.
type rawNpy []byte

// entry is one array of a test archive: a value npy.Write accepts, or rawNpy.
type entry struct {
	key string // without ".npy"
	val any
}

// writeEntry adds one .npy entry to a zip archive with npyio.
func writeEntry(t testing.TB, zw *zip.Writer, e entry) {
	t.Helper()
	w, err := zw.Create(e.key + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := e.val.(rawNpy); ok {
		_, err = w.Write(raw)
	} else {
		err = npy.Write(w, e.val)
	}
	if err != nil {
		t.Fatalf("writing %s: %v", e.key, err)
	}
}

// writeNpz builds a .npz archive from the given arrays, as np.savez_compressed would.
func writeNpz(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		writeEntry(t, zw, e)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rewriteNpz copies archive src, replacing the arrays in replace and leaving out drop.
// Untouched entries are copied raw (still compressed) with zip.Writer.Copy.
func rewriteNpz(t testing.TB, src []byte, replace map[string]any, drop string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		key := f.Name[:len(f.Name)-len(".npy")]
		if key == drop {
			continue
		}
		if v, ok := replace[key]; ok {
			writeEntry(t, zw, entry{key, v})
			continue
		}
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// realBytes reads one of the shared MedMNIST files.
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
	return writeNpz(t,
		entry{"train_images", gray4(6)}, entry{"train_labels", binLabels(6)},
		entry{"val_images", gray4(4)}, entry{"val_labels", binLabels(4)},
		entry{"test_images", gray4(4)}, entry{"test_labels", binLabels(4)},
	)
}
