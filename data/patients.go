package data

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Item is one labelled image file of a dataset on disk, with its patient: what a
// patient-level split needs to know about it. Every source of files (an image folder, see
// package data/folder; NIfTI or DICOM volumes) lists its files as Items, so SplitByPatient
// and Manifest serve them all.
type Item struct {
	File    string // path relative to the dataset's folder, slash-separated (or absolute)
	Label   int    // class index
	Patient string // patient id; SplitByPatient needs one for every item
}

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

// streamPatients is the random stream of patient-level splits (subset.go has the others;
// epoch streams start at 1<<32).
const streamPatients uint64 = 1 << 16

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
// seed always give the same manifest; its entries keep the items' order. The manifest has
// no class names: the caller sets Classes (folder.Folder.SplitByPatient does).
func SplitByPatient(items []Item, fractions SplitFractions, seed int64) (*Manifest, error) {
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
	rng := newRand(seed, streamPatients)
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
