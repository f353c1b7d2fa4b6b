package testutil

import (
	"path/filepath"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/internal/testdata"
)

// ChestXray14Findings is the number of findings (labels) of the ChestX-ray14 fixture.
const ChestXray14Findings = 14

// ChestXray14 loads the committed ChestX-ray14 subset (internal/testdata/files/chestxray14:
// 185 64x64 images of 49 patients, 14 findings) as a multi-label folder, and cuts it by
// patient into train, val and test (70/15/15, seed 1), failing the test on any error.
func ChestXray14(t testing.TB) (*folder.Folder, *data.Dataset) {
	t.Helper()
	csv := testdata.Path(t, "chestxray14/labels.csv")
	f, err := folder.Load(filepath.Join(filepath.Dir(csv), "images"), folder.MultiLabelCSV(csv))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.SplitByPatient(data.SplitFractions{Train: 0.7, Val: 0.15, Test: 0.15}, 1)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := f.Dataset(m)
	if err != nil {
		t.Fatal(err)
	}
	return f, ds
}
