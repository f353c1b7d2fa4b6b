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
	Label   int    // class index (0 for multi-label items)
	Patient string // patient id; SplitByPatient needs one for every item
	// Labels are a multi-label item's L labels, each 0 or 1 (nil for single-label items).
	Labels []int
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
//
// Multi-label items (Labels set; then every item needs the same number of labels, each 0
// or 1) have no majority label: their patients are dealt by iterative stratification
// (Sechidis et al. 2011; see stratify.go), each patient a unit weighing its number of
// images, with its number of positive images per label. Rarest label first, each patient
// with that label, in a seeded random order, goes to the open split that most wants that label's positive images
// (target: the split's fraction of the label's positive images; ties: the split that most
// wants images, then train, val, test); patients without any finding follow, each to the
// split furthest below its share of images. Every split's prevalence of every label then
// follows the whole set's as closely as whole patients allow, rare findings included.
func SplitByPatient(items []Item, fractions SplitFractions, seed int64) (*Manifest, error) {
	if err := fractions.check(); err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("data: SplitByPatient: no items: %w", ErrArgument)
	}
	if items[0].Labels != nil {
		return splitMultiLabelByPatient(items, fractions, seed)
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
		if it.Labels != nil {
			return nil, fmt.Errorf("data: SplitByPatient: %s has %d labels, %s has one class: %w", it.File, len(it.Labels), items[0].File, ErrArgument)
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

// splitMultiLabelByPatient is SplitByPatient for multi-label items.
func splitMultiLabelByPatient(items []Item, fractions SplitFractions, seed int64) (*Manifest, error) {
	L := len(items[0].Labels)
	index := map[string]int{} // patient id -> unit
	var ids []string
	var units []stratum
	for _, it := range items {
		if it.Patient == "" {
			return nil, fmt.Errorf("data: SplitByPatient: %s has no patient id: %w", it.File, ErrArgument)
		}
		if len(it.Labels) != L || L == 0 {
			return nil, fmt.Errorf("data: SplitByPatient: %s has %d labels, %s has %d: %w", it.File, len(it.Labels), items[0].File, L, ErrLabel)
		}
		u, ok := index[it.Patient]
		if !ok {
			u = len(units)
			index[it.Patient] = u
			ids = append(ids, it.Patient)
			units = append(units, stratum{pos: make([]int, L)})
		}
		units[u].size++
		for l, v := range it.Labels {
			switch v {
			case 0:
			case 1:
				units[u].pos[l]++
			default:
				return nil, fmt.Errorf("data: SplitByPatient: %s label %d is %d, want 0 or 1: %w", it.File, l, v, ErrLabel)
			}
		}
	}
	// Visit patients in a seeded random order that depends on the set of patients, not on
	// the items' order (sorted ids, shuffled). Unlike the single-label split, larger
	// patients do not go first: the deficits then decide nearly everything and different
	// seeds would give nearly the same split.
	order := make([]int, len(units))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(ids[a], ids[b]) })
	rng := newRand(seed, streamPatients)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	frac := []float64{fractions.Train, fractions.Val, fractions.Test}
	want := make([]float64, 3)
	wantLabel := make([][]float64, 3)
	open := make([]bool, 3)
	for j, f := range frac {
		open[j] = f > 0
		want[j] = f * float64(len(items))
		wantLabel[j] = make([]float64, L)
		for _, u := range units {
			for l, p := range u.pos {
				wantLabel[j][l] += f * float64(p)
			}
		}
	}
	assign := stratify(units, order, want, wantLabel, open, false)
	m := &Manifest{Seed: seed, Fractions: fractions, Entries: make([]ManifestEntry, len(items))}
	for i, it := range items {
		m.Entries[i] = ManifestEntry{File: it.File, Patient: it.Patient, Labels: slices.Clone(it.Labels), Split: splitNames[assign[index[it.Patient]]]}
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
