package data

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// patientItems gives the real BreastMNIST training labels patients of 1 to 4 images of one
// class each (sizes cycling 1, 2, 3, 4), as a study with several images per patient.
func patientItems(t testing.TB) (items []FolderItem, maxPerPatient int) {
	t.Helper()
	d, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	s := d.Train
	for c, idx := range s.ClassIndices() {
		p, left := 0, 0
		for _, i := range idx {
			if left == 0 {
				p++
				left = p%4 + 1
			}
			items = append(items, FolderItem{File: fmt.Sprintf("img%04d.png", i), Label: s.Label(i), Patient: fmt.Sprintf("c%d-p%03d", c, p)})
			left--
		}
	}
	return items, 4
}

func TestSplitByPatient(t *testing.T) {
	items, maxPer := patientItems(t)
	fr := SplitFractions{Train: 0.7, Val: 0.1, Test: 0.2}
	m, err := SplitByPatient(items, fr, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
	// No patient in two splits (checked directly, not only through Check).
	where := map[string]string{}
	count := map[string]map[int]int{} // split -> label -> images
	total := map[int]int{}
	for i, e := range m.Entries {
		if e.File != items[i].File || e.Label != items[i].Label || e.Patient != items[i].Patient {
			t.Fatalf("entry %d %+v does not match item %+v", i, e, items[i])
		}
		if s, ok := where[e.Patient]; ok && s != e.Split {
			t.Fatalf("patient %s in %s and %s", e.Patient, s, e.Split)
		}
		where[e.Patient] = e.Split
		if count[e.Split] == nil {
			count[e.Split] = map[int]int{}
		}
		count[e.Split][e.Label]++
		total[e.Label]++
	}
	// Per label and split, the image count is within one patient (maxPer images) of its
	// target; so each split's label proportions are close to the whole set's.
	fracs := map[string]float64{"train": fr.Train, "val": fr.Val, "test": fr.Test}
	for sp, f := range fracs {
		n := 0
		for l, tot := range total {
			target := f * float64(tot)
			if got := float64(count[sp][l]); got < target-float64(maxPer) || got > target+float64(maxPer) {
				t.Errorf("%s label %d: %v images, target %.1f ± %d", sp, l, got, target, maxPer)
			}
			n += count[sp][l]
		}
		for l, tot := range total {
			whole := float64(tot) / float64(len(items))
			part := float64(count[sp][l]) / float64(n)
			t.Logf("%s: %d images, label %d share %.3f (whole %.3f)", sp, n, l, part, whole)
			if d := part - whole; d > 0.05 || d < -0.05 {
				t.Errorf("%s: label %d share %.3f, whole set %.3f", sp, l, part, whole)
			}
		}
	}
	// Same seed: same manifest; another seed: another split.
	again, _ := SplitByPatient(items, fr, 7)
	other, _ := SplitByPatient(items, fr, 8)
	if !reflect.DeepEqual(m, again) || reflect.DeepEqual(m.Entries, other.Entries) {
		t.Fatal("split not determined by the seed")
	}
}

func TestSplitByPatientMajorityAndErrors(t *testing.T) {
	// Patient A has labels 1, 1, 0: majority 1. Patient B has 0, 1: tie, smallest (0).
	items := []FolderItem{{"a1", 1, "A"}, {"a2", 1, "A"}, {"a3", 0, "A"}, {"b1", 0, "B"}, {"b2", 1, "B"}}
	m, err := SplitByPatient(items, SplitFractions{Train: 0.5, Test: 0.5}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// One patient per label: each goes to train, the split furthest below target first.
	if got := m.PatientsBySplit(); fmt.Sprint(got) != "map[train:[A B]]" {
		t.Fatalf("patients by split %v", got)
	}
	for _, fr := range []SplitFractions{{0, 0.5, 0.5}, {0.5, 0.5, 0.5}, {1.2, -0.2, 0}} {
		if _, err := SplitByPatient(items, fr, 1); err == nil || !strings.Contains(err.Error(), "fractions") {
			t.Errorf("fractions %+v: error %v", fr, err)
		}
	}
	if _, err := SplitByPatient([]FolderItem{{"x", 0, ""}}, SplitFractions{Train: 1}, 1); err == nil {
		t.Error("item without patient accepted")
	}
}

func TestManifestRoundTripAndDataset(t *testing.T) {
	s := folderTestSplit(t, 60)
	dir := t.TempDir()
	var csv strings.Builder
	for i := range s.N {
		file := fmt.Sprintf("img%04d.png", i)
		folderWrite(t, dir, file, folderEncode(t, folderGray(s, i), "png"))
		fmt.Fprintf(&csv, "%s,%d,P%02d\n", file, s.Label(i), i/3)
	}
	folderWrite(t, dir, "labels.csv", []byte(csv.String()))
	f, err := LoadImageFolder(dir, FolderLabelsCSV(filepath.Join(dir, "labels.csv")))
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.SplitByPatient(SplitFractions{Train: 0.6, Val: 0.2, Test: 0.2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	if err := WriteManifest(path, m); err != nil {
		t.Fatal(err)
	}
	back, err := LoadManifest(path)
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
	f2, err := LoadImageFolder(dir, FolderLabelsCSV(filepath.Join(dir, "labels.csv")))
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
		if sp.N != counts[sp.Name] || sp.N == 0 || sp.Task != Binary || sp.NumClasses != 2 {
			t.Fatalf("split %s: %d examples, manifest says %d", sp.Name, sp.N, counts[sp.Name])
		}
		// Every example is the original image of its file with its label.
		part, _ := f.Select(m, sp.Name)
		for k, it := range part.Items {
			i := folderIndexOf(t, it.File)
			if !bytes.Equal(sp.Image(k), s.Image(i)) || sp.Label(k) != s.Label(i) {
				t.Fatalf("%s example %d (%s) differs from the original", sp.Name, k, it.File)
			}
		}
	}
	// Every protocol's helpers run on the splits.
	if _, err := LabelFraction(d1.Train, 0.5, 1); err != nil {
		t.Fatal(err)
	}

	// A manifest that disagrees with the folder is an error naming the file.
	bad := *m
	bad.Entries = append([]ManifestEntry(nil), m.Entries...)
	bad.Entries[5].Label = 1 - bad.Entries[5].Label
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), bad.Entries[5].File) {
		t.Fatalf("mismatched label: %v", err)
	}
	bad.Entries = append([]ManifestEntry(nil), m.Entries[1:]...)
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), m.Entries[0].File) {
		t.Fatalf("missing entry: %v", err)
	}
	bad.Entries = append(append([]ManifestEntry(nil), m.Entries...), ManifestEntry{File: "extra.png", Patient: "X", Split: "test"})
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), "extra.png") {
		t.Fatalf("extra entry: %v", err)
	}
	// A manifest edited in code that puts one of a patient's images in another split
	// would leak the patient across splits: Select and Dataset refuse it.
	bad.Entries = append([]ManifestEntry(nil), m.Entries...)
	bad.Entries[0].Split = map[string]string{"train": "test", "val": "train", "test": "train"}[bad.Entries[0].Split]
	if _, err := f.Dataset(&bad); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("patient in two splits: %v", err)
	}
}

func TestReadManifestErrors(t *testing.T) {
	head := `{"format":"medssl-manifest","version":1,"seed":1,"fractions":{"train":1},"patient_label":"majority","entries":`
	for _, tc := range []struct{ json, want string }{
		{`{`, "not a readable manifest"},
		{`{"format":"other","version":1,"entries":[]}`, "format"},
		{head + `[{"file":"a","patient":"p","label":0,"split":"train"},{"file":"b","patient":"p","label":0,"split":"test"}]}`, "both train and test"},
		{head + `[{"file":"a","patient":"p","label":0,"split":"train"},{"file":"a","patient":"q","label":0,"split":"train"}]}`, "twice"},
		{head + `[{"file":"a","patient":"p","label":0,"split":"dev"}]}`, "split"},
		{head + `[{"file":"a","patient":"p","label":0,"split":"train","extra":1}]}`, "unknown field"},
	} {
		_, err := ReadManifest(strings.NewReader(tc.json), "m.json")
		if err == nil || !strings.Contains(err.Error(), "m.json") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.json, err, tc.want)
		}
	}
}
