package dicom

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds mutated fixtures to Decode: it must return a valid volume or an
// error, never panic (panics of the underlying parser are recovered; this package's own
// code must not panic at all), hang, or allocate far beyond the input's size.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.dcm")
	more, _ := filepath.Glob("testdata/*/*.dcm")
	for _, p := range append(files, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b, "fuzz.dcm")
		if err != nil {
			return
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid volume: %v", err)
		}
		if len(v.Data) > maxExpansion*len(b)+1<<16 {
			t.Fatalf("%d voxels from %d bytes", len(v.Data), len(b))
		}
	})
}
