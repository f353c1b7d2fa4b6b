package folder

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testutil/foldertest"
)

func TestManifestRoundTripAndDataset(t *testing.T) {
	s := foldertest.Split(t, 60)
	dir := t.TempDir()
	var csv strings.Builder
	for i := range s.N {
		file := fmt.Sprintf("img%04d.png", i)
		foldertest.Write(t, dir, file, foldertest.Encode(t, foldertest.Gray(s, i), "png"))
		fmt.Fprintf(&csv, "%s,%d,P%02d\n", file, s.Label(i), i/3)
	}
	foldertest.Write(t, dir, "labels.csv", []byte(csv.String()))
	f, err := Load(dir, LabelsCSV(filepath.Join(dir, "labels.csv")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.SplitByPatient(data.SplitFractions{Train: 0.6, Val: 0.2, Test: 0.2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	if err := data.WriteManifest(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := data.LoadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, back) {
		t.Fatalf("manifest changed on the round trip:\n%+v\n%+v", m, back)
	}
	d1, err := f.Dataset(m)
	if err != nil {
		t.Fatal(err)
	}
	// A fresh load with the manifest read back gives exactly the same splits.
	f2, err := Load(dir, LabelsCSV(filepath.Join(dir, "labels.csv")))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := f2.Dataset(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d1, d2) {
		t.Fatal("datasets from the written and read manifests differ")
	}
	counts := m.Counts()
	for _, sp := range d1.Splits() {
		if sp.N != counts[sp.Name] || sp.N == 0 || sp.Task != data.Binary || sp.NumClasses != 2 {
			t.Fatalf("split %s: %d examples, manifest says %d", sp.Name, sp.N, counts[sp.Name])
		}
		// Every example is the original image of its file with its label.
		part, _ := f.Select(m, sp.Name)
		for k, it := range part.Items {
			i := foldertest.IndexOf(t, it.File)
			if !bytes.Equal(sp.Image(k), s.Image(i)) || sp.Label(k) != s.Label(i) {
				t.Fatalf("%s example %d (%s) differs from the original", sp.Name, k, it.File)
			}
		}
	}
	// Every protocol's helpers run on the splits.
	if _, err := data.LabelFraction(d1.Train, 0.5, 1); err != nil {
		t.Fatal(err)
	}

	// A manifest that disagrees with the folder is an error naming the file.
	bad := *m
	bad.Entries = append([]data.ManifestEntry(nil), m.Entries...)
	bad.Entries[5].Label = 1 - bad.Entries[5].Label
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), bad.Entries[5].File) {
		t.Fatalf("mismatched label: %v", err)
	}
	bad.Entries = append([]data.ManifestEntry(nil), m.Entries[1:]...)
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), m.Entries[0].File) {
		t.Fatalf("missing entry: %v", err)
	}
	bad.Entries = append(append([]data.ManifestEntry(nil), m.Entries...), data.ManifestEntry{File: "extra.png", Patient: "X", Split: "test"})
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), "extra.png") {
		t.Fatalf("extra entry: %v", err)
	}
	// A manifest edited in code that puts one of a patient's images in another split
	// would leak the patient across splits: Select and Dataset refuse it.
	bad.Entries = append([]data.ManifestEntry(nil), m.Entries...)
	bad.Entries[0].Split = map[string]string{"train": "test", "val": "train", "test": "train"}[bad.Entries[0].Split]
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("patient in two splits: %v", err)
	}
}
