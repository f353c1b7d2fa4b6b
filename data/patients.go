package data

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
)

// SplitFractions are the shares of images that a patient-level split aims at for train,
// val and test. They must be >= 0 and sum to 1, with Train > 0.
type SplitFractions struct{ Train, Val, Test float64 }

func (f SplitFractions) check() error {
	s := f.Train + f.Val + f.Test
	if !(f.Train > 0 && f.Val >= 0 && f.Test >= 0) || math.Abs(s-1) > 1e-9 {
		return fmt.Errorf("data: split fractions %+v: want train > 0, val, test >= 0, sum 1: %w", f, ErrArgument)
	}
	return nil
}

// folderStreamPatients is the random stream of patient-level splits (subset.go has the
// others; epoch streams start at 1<<32).
const folderStreamPatients uint64 = 1 << 16

// SplitByPatient assigns every patient, with all of their images, to one of train, val
// and test, so that no patient is in two splits, stratified by label and seeded.
//
// A patient's label is the majority label of their images (ties go to the smallest
// label). For each label in turn, its patients (shuffled with seed, then ordered by
// decreasing number of images, so that the small ones even out the end) are dealt one by
// one to the split furthest below its target, where split s's target is fractions.s times
// the number of images of that label's patients and "furthest below" counts images (ties:
// train, val, test; splits with fraction 0 get nothing). So each split's label
// proportions follow the whole set's up to about one patient's images per label, and a
// split gets no patients when there are too few. The same items, fractions and
// seed always give the same manifest; its entries keep the items' order.
func SplitByPatient(items []FolderItem, fractions SplitFractions, seed int64) (*Manifest, error) {
	if err := fractions.check(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("data: SplitByPatient: no items: %w", ErrArgument)
	}
	type patient struct {
		images int
		labels map[int]int
		label  int
		split  int
	}
	patients := map[string]*patient{}
	for _, it := range items {
		if it.Patient == "" {
			return nil, fmt.Errorf("data: SplitByPatient: %s has no patient id: %w", it.File, ErrArgument)
		}
		p := patients[it.Patient]
		if p == nil {
			p = &patient{labels: map[int]int{}}
			patients[it.Patient] = p
		}
		p.images++
		p.labels[it.Label]++
	}
	byLabel := map[int][]string{}
	for _, id := range slices.Sorted(maps.Keys(patients)) {
		p := patients[id]
		best := -1
		for _, l := range slices.Sorted(maps.Keys(p.labels)) {
			if best < 0 || p.labels[l] > p.labels[best] {
				best = l
			}
		}
		p.label = best
		byLabel[best] = append(byLabel[best], id)
	}
	frac := []float64{fractions.Train, fractions.Val, fractions.Test}
	rng := newRand(seed, folderStreamPatients)
	for _, l := range slices.Sorted(maps.Keys(byLabel)) {
		ids := byLabel[l]
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		slices.SortStableFunc(ids, func(a, b string) int { return patients[b].images - patients[a].images })
		total := 0
		for _, id := range ids {
			total += patients[id].images
		}
		var got [3]int
		for _, id := range ids {
			best, bestDeficit := -1, math.Inf(-1)
			for s, f := range frac {
				if d := f*float64(total) - float64(got[s]); f > 0 && d > bestDeficit {
					best, bestDeficit = s, d
				}
			}
			patients[id].split = best
			got[best] += patients[id].images
		}
	}
	m := &Manifest{Seed: seed, Fractions: fractions, Entries: make([]ManifestEntry, len(items))}
	for i, it := range items {
		m.Entries[i] = ManifestEntry{File: it.File, Patient: it.Patient, Label: it.Label, Split: splitNames[patients[it.Patient].split]}
	}
	return m, nil
}

// SplitByPatient splits the folder's items (see the function SplitByPatient) and records
// its class names in the manifest.
func (f *ImageFolder) SplitByPatient(fractions SplitFractions, seed int64) (*Manifest, error) {
	m, err := SplitByPatient(f.Items, fractions, seed)
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
func (f *ImageFolder) Select(m *Manifest, split string) (*ImageFolder, error) {
	if !slices.Contains(splitNames, split) {
		return nil, fmt.Errorf("data: Select: split %q, want train, val or test: %w", split, ErrArgument)
	}
	idx, err := f.manifestIndices(m)
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
func (f *ImageFolder) Dataset(m *Manifest) (*Dataset, error) {
	if f.Images == nil {
		return nil, fmt.Errorf("data: Dataset: folder %s is not loaded (use LoadImageFolder): %w", f.Dir, ErrArgument)
	}
	d := &Dataset{Name: baseName(f.Dir), File: baseName(f.Dir), Task: f.Task(), NumClasses: f.NumClasses()}
	for _, sp := range splitNames {
		part, err := f.Select(m, sp)
		if err != nil {
			return nil, err
		}
		switch sp {
		case "train":
			d.Train = part.Images
		case "val":
			d.Val = part.Images
		default:
			d.Test = part.Images
		}
	}
	return d, nil
}

// manifestIndices returns each item's split in m, checking that m and the folder agree.
func (f *ImageFolder) manifestIndices(m *Manifest) ([]string, error) {
	if m == nil {
		return nil, fmt.Errorf("data: nil manifest: %w", ErrArgument)
	}
	// A manifest built or edited in code has not been through ReadManifest's check: a
	// patient in two splits would leak between train and test.
	if err := m.Check(); err != nil {
		return nil, err
	}
	byFile := make(map[string]*ManifestEntry, len(m.Entries))
	for i := range m.Entries {
		byFile[m.Entries[i].File] = &m.Entries[i]
	}
	out := make([]string, len(f.Items))
	for i, it := range f.Items {
		e := byFile[it.File]
		switch {
		case e == nil:
			return nil, fmt.Errorf("data: manifest has no entry for %s: %w", it.File, ErrArgument)
		case e.Label != it.Label || e.Patient != it.Patient:
			return nil, fmt.Errorf("data: manifest says %s is label %d of patient %q, the folder says label %d of %q: %w",
				it.File, e.Label, e.Patient, it.Label, it.Patient, ErrArgument)
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
				return nil, fmt.Errorf("data: manifest entry %s is not in folder %s (missing or skipped): %w", e.File, f.Dir, ErrArgument)
			}
		}
	}
	return out, nil
}

// PatientsBySplit returns, for each split name, its sorted patient ids.
func (m *Manifest) PatientsBySplit() map[string][]string {
	sets := map[string]map[string]bool{}
	for _, e := range m.Entries {
		if sets[e.Split] == nil {
			sets[e.Split] = map[string]bool{}
		}
		sets[e.Split][e.Patient] = true
	}
	out := map[string][]string{}
	for s, set := range sets {
		out[s] = slices.SortedFunc(maps.Keys(set), cmp.Compare[string])
	}
	return out
}
