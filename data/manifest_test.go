package data

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A manifest written and read back is the same manifest.
func TestManifestRoundTrip(t *testing.T) {
	items, _ := patientItems(t)
	m, err := SplitByPatient(items, SplitFractions{Train: 0.6, Val: 0.2, Test: 0.2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Classes = []string{"malignant", "normal_benign"}
	path := filepath.Join(t.TempDir(), "manifest.json")
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
	if _, err := LoadManifest(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.HasPrefix(err.Error(), "data: ") {
		t.Fatalf("missing manifest: %v", err)
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
