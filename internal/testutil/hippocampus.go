package testutil

import (
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/internal/testdata"
)

// Hippocampus loads the committed hippocampus MRI volumes (internal/testdata/files/
// hippocampus: 8 image/label pairs, 3 classes) and cuts them by volume into 5 train, 1 val
// and 2 test volumes (seed 1), failing the test on any error.
func Hippocampus(t testing.TB) (train, val, test *seg.Set) {
	t.Helper()
	s, err := seg.LoadNIfTI(testdata.Path(t, "hippocampus"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Split(data.SplitFractions{Train: 0.625, Val: 0.125, Test: 0.25}, 1)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]*seg.Set, 3)
	for i, name := range data.SplitNames() {
		if parts[i], err = s.Select(m, name); err != nil {
			t.Fatal(err)
		}
	}
	if len(parts[0].Cases) != 5 || len(parts[1].Cases) != 1 || len(parts[2].Cases) != 2 {
		t.Fatalf("split into %d/%d/%d volumes, want 5/1/2", len(parts[0].Cases), len(parts[1].Cases), len(parts[2].Cases))
	}
	return parts[0], parts[1], parts[2]
}
