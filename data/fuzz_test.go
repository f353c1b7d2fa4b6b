package data

import (
	"testing"

	"github.com/medssl/medssl/internal/testutil/npztest"
)

// FuzzReadMedMNIST feeds arbitrary bytes to the reader: it must return a dataset or an
// error, never panic, and a returned dataset must be self-consistent. Allocation is
// bounded by the size checks in readArray (the fuzzer's memory limit catches a breach).
//
//	go test ./data -run '^$' -fuzz FuzzReadMedMNIST -fuzztime 60s -fuzzminimizetime 3s
//
// (exec counts pause while the fuzzer minimizes a new input; that is not a hang).
func FuzzReadMedMNIST(f *testing.F) {
	valid := smallNpz(f)
	f.Add(valid)
	f.Add(valid[:len(valid)/2])
	f.Add(npztest.Rewrite(f, valid, map[string]any{"val_labels": make([][1]uint8, 3)}, ""))
	f.Add(npztest.Rewrite(f, valid, map[string]any{"train_images": make([][4][4][3]uint8, 6)}, ""))
	f.Add(npztest.Rewrite(f, valid, map[string]any{"test_labels": npztest.Raw("\x93NUMPY\x02\x00\xff\xff\xff\x7f{'descr'")}, ""))
	f.Add(multiLabelNpz(f, 3))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadMedMNISTBytes(b, "fuzz.npz")
		if err != nil {
			if d != nil {
				t.Fatal("dataset and error both returned")
			}
			return
		}
		for _, s := range d.Splits() {
			if s.N <= 0 || len(s.Images) != s.N*s.ImageSize() || len(s.Labels) != s.N*s.LabelDim {
				t.Fatalf("%s: inconsistent split N=%d image bytes %d labels %d", s.Name, s.N, len(s.Images), len(s.Labels))
			}
			if s.LabelDim == 1 {
				if len(s.ClassCounts()) != d.NumClasses {
					t.Fatal("class counts length differs from NumClasses")
				}
			}
		}
	})
}
