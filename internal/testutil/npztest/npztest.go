// Package npztest writes NumPy .npz archives for tests: well-formed MedMNIST-style files
// and deliberately broken ones, byte for byte as numpy would (through npyio), so that
// loaders and the commands built on them can be fed every malformed case.
package npztest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/sbinet/npyio/npy"
)

// Raw is an array entry written to an archive byte for byte, not through npy.Write.
type Raw []byte

// Entry is one array of an archive: a value npy.Write accepts (a slice, possibly of
// fixed-size arrays, which gives its shape), or Raw.
type Entry struct {
	Key string // without ".npy"
	Val any
}

func write(t testing.TB, zw *zip.Writer, e Entry) {
	t.Helper()
	w, err := zw.Create(e.Key + ".npy")
	if err != nil {
		t.Fatal(err)
	}
	if raw, ok := e.Val.(Raw); ok {
		_, err = w.Write(raw)
	} else {
		err = npy.Write(w, e.Val)
	}
	if err != nil {
		t.Fatalf("writing %s: %v", e.Key, err)
	}
}

// Header returns a .npy v1.0 array of the given dtype ("|u1", "<f4", ...) and shape with
// no data: with a zero in shape it is a well-formed empty array, as numpy writes one
// (npy.Write cannot give an empty slice more than one dimension).
func Header(dtype string, shape ...int) Raw {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, tuple)
	// Magic (6) + version (2) + header length (2) + dict + padding + '\n', a multiple of 64.
	pad := 63 - (10+len(dict))%64
	dict += strings.Repeat(" ", pad) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(dict)), byte(len(dict)>>8))
	return append(out, dict...)
}

// Write builds a .npz archive from the given arrays, as numpy.savez would.
func Write(t testing.TB, entries ...Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		write(t, zw, e)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Rewrite copies archive src, replacing the arrays in replace and leaving out drop.
// Untouched entries are copied raw (still compressed) with zip.Writer.Copy.
func Rewrite(t testing.TB, src []byte, replace map[string]any, drop string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		key := strings.TrimSuffix(f.Name, ".npy")
		if key == drop {
			continue
		}
		if v, ok := replace[key]; ok {
			write(t, zw, Entry{key, v})
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
