package nifti

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode feeds mutated fixtures (plain and gzipped) to Decode: it must return a
// valid volume or an error, never panic, hang or allocate beyond what the input holds.
func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.nii*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Decode(b, "fuzz.nii")
		if err != nil {
			return
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid volume: %v", err)
		}
		if !isGzip(b) && 4*len(v.Data) > 8*len(b) {
			// at least one byte per voxel is read: 4 bytes out per byte in
			t.Fatalf("%d voxels from %d bytes", len(v.Data), len(b))
		}
	})
}
