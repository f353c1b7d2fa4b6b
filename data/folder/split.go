package folder

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/medssl/medssl/data"
)

// SplitByPatient splits the folder's items by patient (see data.SplitByPatient: stratified
// by majority label, or for a multi-label folder by iterative stratification over its
// labels) and records its class (label) names in the manifest.
func (f *Folder) SplitByPatient(fractions data.SplitFractions, seed int64) (*data.Manifest, error) {
	m, err := data.SplitByPatient(f.Items, fractions, seed)
	if err != nil {
		return nil, err
	}
	m.Classes = slices.Clone(f.Classes)
	return m, nil
}

// Select returns the part of the folder that manifest m puts in split ("train", "val" or
// "test"): its items in the folder's order and, if loaded, their images (a Split named
// after the split). Every item of the folder must be in m with the same label and
// patient, and every entry of m in the folder: a manifest for other files or labels is an
// error, not a silent mismatch.
func (f *Folder) Select(m *data.Manifest, split string) (*Folder, error) {
	if !slices.Contains(data.SplitNames(), split) {
		return nil, fmt.Errorf("folder: Select: split %q, want train, val or test: %w", split, data.ErrArgument)
	}
	idx, err := f.manifestSplits(m)
	if err != nil {
		return nil, err
	}
	part := *f
	part.Items, part.Images = nil, nil
	var keep []int
	for i, it := range f.Items {
		if idx[i] == split {
			keep = append(keep, i)
			part.Items = append(part.Items, it)
		}
	}
	if f.Images != nil {
		part.Images = f.Images.Subset(keep)
		part.Images.Name = split
	}
	return &part, nil
}

// Dataset cuts a loaded folder into the train, val and test Splits of manifest m (see
// Select), so that every MedMNIST protocol runs on it unchanged. The Dataset is named
// after the folder.
func (f *Folder) Dataset(m *data.Manifest) (*data.Dataset, error) {
	if f.Images == nil {
		return nil, fmt.Errorf("folder: Dataset: folder %s is not loaded (use Load): %w", f.Dir, data.ErrArgument)
	}
	name := filepath.Base(f.Dir)
	d := &data.Dataset{Name: name, File: name, Task: f.Task(), NumClasses: f.NumClasses(), Classes: slices.Clone(f.Classes)}
	parts := make([]*data.Split, 0, 3)
	for _, sp := range data.SplitNames() {
		part, err := f.Select(m, sp)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part.Images)
	}
	d.Train, d.Val, d.Test = parts[0], parts[1], parts[2]
	return d, nil
}

// manifestSplits returns each item's split in m, checking that m and the folder agree.
func (f *Folder) manifestSplits(m *data.Manifest) ([]string, error) {
	if m == nil {
		return nil, fmt.Errorf("folder: nil manifest: %w", data.ErrArgument)
	}
	// A manifest built or edited in code has not been through ReadManifest's check: a
	// patient in two splits would leak between train and test.
	if err := m.Check(); err != nil {
		return nil, err
	}
	byFile := make(map[string]*data.ManifestEntry, len(m.Entries))
	for i := range m.Entries {
		byFile[m.Entries[i].File] = &m.Entries[i]
	}
	out := make([]string, len(f.Items))
	for i, it := range f.Items {
		e := byFile[it.File]
		switch {
		case e == nil:
			return nil, fmt.Errorf("folder: manifest has no entry for %s: %w", it.File, data.ErrArgument)
		case e.Label != it.Label || e.Patient != it.Patient:
			return nil, fmt.Errorf("folder: manifest says %s is label %d of patient %q, the folder says label %d of %q: %w",
				it.File, e.Label, e.Patient, it.Label, it.Patient, data.ErrArgument)
		case !slices.Equal(e.Labels, it.Labels):
			return nil, fmt.Errorf("folder: manifest says %s has labels %v, the folder says %v: %w", it.File, e.Labels, it.Labels, data.ErrArgument)
		}
		out[i] = e.Split
	}
	if len(m.Entries) != len(f.Items) {
		have := make(map[string]bool, len(f.Items))
		for _, it := range f.Items {
			have[it.File] = true
		}
		for _, e := range m.Entries {
			if !have[e.File] {
				return nil, fmt.Errorf("folder: manifest entry %s is not in folder %s (missing or skipped): %w", e.File, f.Dir, data.ErrArgument)
			}
		}
	}
	return out, nil
}
