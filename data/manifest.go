package data

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// ManifestEntry is one image of a study: its file, patient, label and split.
type ManifestEntry struct {
	File    string `json:"file"`
	Patient string `json:"patient"`
	Label   int    `json:"label"`
	// Labels are a multi-label entry's 0/1 labels, one per name of Classes (absent for
	// single-label entries).
	Labels []int  `json:"labels,omitempty"`
	Split  string `json:"split"` // "train", "val" or "test" (see SplitNames)
}

// SplitNames returns the names of a Dataset's splits, the names a Manifest's entries use:
// "train", "val" and "test", in the order of Dataset.Splits.
func SplitNames() []string { return slices.Clone(splitNames) }

// Manifest records a patient-level split so that a study can be rerun on exactly the same
// splits: the seed and fractions it was made with, the class names, and every file's
// patient, label and split. SplitByPatient makes one; folder.Folder.Dataset (package
// data/folder) cuts a folder by one. It is stored as JSON (see WriteManifest):
//
//	{"format": "medssl-manifest", "version": 1, "seed": 1,
//	 "fractions": {"train": 0.7, "val": 0.15, "test": 0.15},
//	 "patient_label": "majority", "classes": ["benign", "malignant"],
//	 "entries": [{"file": "benign/0001.png", "patient": "P17", "label": 0, "split": "train"}, ...]}
//
// A multi-label manifest's classes are the label names, its entries carry "labels" (0/1,
// one per class; "label" is then 0) and its patient_label is "iterative" (patients dealt
// by iterative stratification, see SplitByPatient).
type Manifest struct {
	Seed      int64
	Fractions SplitFractions
	Classes   []string
	Entries   []ManifestEntry
}

// manifestFormat and manifestVersion identify the file format.
const (
	manifestFormat  = "medssl-manifest"
	manifestVersion = 1
)

type manifestJSON struct {
	Format       string             `json:"format"`
	Version      int                `json:"version"`
	Seed         int64              `json:"seed"`
	Fractions    map[string]float64 `json:"fractions"`
	PatientLabel string             `json:"patient_label"`
	Classes      []string           `json:"classes,omitempty"`
	Entries      []ManifestEntry    `json:"entries"`
}

// Counts returns the number of images in each split.
func (m *Manifest) Counts() map[string]int {
	out := map[string]int{}
	for _, e := range m.Entries {
		out[e.Split]++
	}
	return out
}

// MultiLabel reports whether the manifest's entries carry multi-label Labels.
func (m *Manifest) MultiLabel() bool { return len(m.Entries) > 0 && m.Entries[0].Labels != nil }

// Check verifies that every entry names a file once, has a known split and a label in
// range of Classes (when given; for multi-label manifests, as many 0/1 labels as every
// other entry and as Classes), and that no patient is in two splits.
func (m *Manifest) Check() error {
	files := make(map[string]bool, len(m.Entries))
	patientSplit := map[string]string{}
	multi := m.MultiLabel()
	for _, e := range m.Entries {
		if multi || e.Labels != nil {
			if err := m.checkLabels(e); err != nil {
				return err
			}
		}
		switch {
		case e.File == "" || e.Patient == "":
			return fmt.Errorf("data: manifest entry %+v: empty file or patient: %w", e, ErrFormat)
		case files[e.File]:
			return fmt.Errorf("data: manifest lists %s twice: %w", e.File, ErrFormat)
		case !slices.Contains(splitNames, e.Split):
			return fmt.Errorf("data: manifest entry %s: split %q, want train, val or test: %w", e.File, e.Split, ErrFormat)
		case !multi && (e.Label < 0 || (len(m.Classes) > 0 && e.Label >= max(2, len(m.Classes)))):
			return fmt.Errorf("data: manifest entry %s: label %d out of range for %d classes: %w", e.File, e.Label, len(m.Classes), ErrLabel)
		}
		if s, ok := patientSplit[e.Patient]; ok && s != e.Split {
			return fmt.Errorf("data: manifest puts patient %q in both %s and %s: %w", e.Patient, s, e.Split, ErrFormat)
		}
		files[e.File], patientSplit[e.Patient] = true, e.Split
	}
	return nil
}

// checkLabels checks a multi-label entry's labels against the first entry's and Classes.
func (m *Manifest) checkLabels(e ManifestEntry) error {
	want := len(m.Entries[0].Labels)
	if len(m.Classes) > 0 {
		want = len(m.Classes)
	}
	if len(e.Labels) != want || want == 0 || e.Label != 0 {
		return fmt.Errorf("data: manifest entry %s: %d labels (label %d), want %d 0/1 labels as the other entries and the classes: %w", e.File, len(e.Labels), e.Label, want, ErrLabel)
	}
	for l, v := range e.Labels {
		if v != 0 && v != 1 {
			return fmt.Errorf("data: manifest entry %s: label %d is %d, want 0 or 1: %w", e.File, l, v, ErrLabel)
		}
	}
	return nil
}

// Write stores the manifest as indented JSON.
func (m *Manifest) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	how := "majority"
	if m.MultiLabel() {
		how = "iterative"
	}
	return enc.Encode(manifestJSON{
		Format: manifestFormat, Version: manifestVersion, Seed: m.Seed,
		Fractions:    map[string]float64{"train": m.Fractions.Train, "val": m.Fractions.Val, "test": m.Fractions.Test},
		PatientLabel: how, Classes: m.Classes, Entries: m.Entries,
	})
}

// WriteManifest writes m to the file at path.
func WriteManifest(path string, m *Manifest) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("data: manifest: %w", err)
	}
	if err := m.Write(fh); err != nil {
		fh.Close()
		return fmt.Errorf("data: manifest %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("data: manifest %s: %w", path, err)
	}
	return nil
}

// ReadManifest reads and checks a manifest written by Manifest.Write; name appears in
// errors.
func ReadManifest(r io.Reader, name string) (*Manifest, error) {
	var j manifestJSON
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return nil, &FileError{File: name, Msg: "not a readable manifest", Kind: ErrFormat, Err: err}
	}
	if j.Format != manifestFormat || j.Version != manifestVersion {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("format %q version %d, want %q version %d", j.Format, j.Version, manifestFormat, manifestVersion), Kind: ErrFormat}
	}
	m := &Manifest{Seed: j.Seed, Classes: j.Classes, Entries: j.Entries,
		Fractions: SplitFractions{Train: j.Fractions["train"], Val: j.Fractions["val"], Test: j.Fractions["test"]}}
	if err := m.Check(); err != nil {
		return nil, &FileError{File: name, Msg: "inconsistent manifest", Kind: ErrFormat, Err: err}
	}
	return m, nil
}

// LoadManifest reads the manifest file at path.
func LoadManifest(path string) (*Manifest, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: manifest: %w", err)
	}
	defer fh.Close()
	return ReadManifest(fh, baseName(path))
}
