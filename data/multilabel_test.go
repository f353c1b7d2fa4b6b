package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/internal/testdata"
)

// chestRows reads the committed ChestX-ray14 subset's labels.csv directly (package data
// cannot use data/folder): files, patients and the 14 finding columns.
func chestRows(t testing.TB) (files, patients []string, labels [][]int) {
	t.Helper()
	fh, err := os.Open(testdata.Path(t, "chestxray14/labels.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 186 || len(rows[0]) != 19 {
		t.Fatalf("labels.csv: %d rows of %d columns, want 186 of 19", len(rows), len(rows[0]))
	}
	for _, r := range rows[1:] {
		row := make([]int, 14)
		for k := range row {
			if r[5+k] == "1" {
				row[k] = 1
			}
		}
		files, patients, labels = append(files, r[0]), append(patients, r[1]), append(labels, row)
	}
	return files, patients, labels
}

// indexedSplit is a multi-label split whose example i has 1x2 "image" bytes encoding i, so
// that a subset's examples can be traced back.
func indexedSplit(labels [][]int) *Split {
	n, L := len(labels), len(labels[0])
	s := &Split{Name: "train", N: n, Height: 1, Width: 2, Channels: 1, LabelDim: L, Task: MultiLabel, NumClasses: L}
	for i, row := range labels {
		s.Images = append(s.Images, uint8(i>>8), uint8(i))
		for _, v := range row {
			s.Labels = append(s.Labels, int32(v))
		}
	}
	return s
}

// origin returns the index in the parent of each example of a subset of an indexedSplit.
func origin(sub *Split) []int {
	out := make([]int, sub.N)
	for i := range out {
		img := sub.Image(i)
		out[i] = int(img[0])<<8 | int(img[1])
	}
	return out
}

// randomLabels draws an n x L 0/1 matrix with prevalences from 0 (an absent label) to
// 0.6, correlated through a shared "sick" factor, as findings are.
func randomLabels(rng *rand.Rand, n, L int) [][]int {
	prev := make([]float64, L)
	for l := range prev {
		if rng.IntN(6) > 0 {
			prev[l] = math.Pow(rng.Float64(), 2) * 0.6
		}
	}
	out := make([][]int, n)
	for i := range out {
		sick := rng.Float64() < 0.4
		out[i] = make([]int, L)
		for l, p := range prev {
			if sick {
				p = min(1, 2*p)
			} else {
				p /= 2
			}
			if rng.Float64() < p {
				out[i][l] = 1
			}
		}
	}
	return out
}

func positives(s *Split) []int { return s.ClassCounts() }

// Property: on random label matrices and fractions, a multi-label label fraction keeps
// every label that has a positive, has round(fraction·N) examples (more only to keep
// labels present, never more than the labels present), keeps the examples' order and
// rows, and depends only on the seed.
func TestMultiLabelFractionKeepsEveryLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 300 {
		n, L := 1+rng.IntN(300), 1+rng.IntN(12)
		s := indexedSplit(randomLabels(rng, n, L))
		fraction := []float64{0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.9, 1}[rng.IntN(8)]
		seed := int64(rng.IntN(1000))
		sub, err := LabelFraction(s, fraction, seed)
		if err != nil {
			t.Fatal(err)
		}
		all, got := positives(s), positives(sub)
		present := 0
		for l := range all {
			if all[l] > 0 {
				present++
				if got[l] == 0 {
					t.Fatalf("trial %d (n %d, L %d, fraction %v): label %d (%d positives) lost", trial, n, L, fraction, l, all[l])
				}
			}
		}
		want := min(n, max(1, int(math.Round(fraction*float64(n)))))
		if sub.N < want || (sub.N > want && sub.N > present) {
			t.Fatalf("trial %d: %d examples, want %d (or up to %d to keep the labels)", trial, sub.N, want, present)
		}
		idx := origin(sub)
		if !slices.IsSorted(idx) || len(slices.Compact(slices.Clone(idx))) != len(idx) {
			t.Fatalf("trial %d: examples %v not distinct and in order", trial, idx)
		}
		for k, i := range idx {
			if !slices.Equal(sub.LabelRow(k), s.LabelRow(i)) {
				t.Fatalf("trial %d: example %d's labels changed", trial, i)
			}
		}
		again, _ := LabelFraction(s, fraction, seed)
		if !slices.Equal(origin(again), idx) {
			t.Fatalf("trial %d: same seed, different subset", trial)
		}
	}
}

// On a larger set the stratification is tight: every label keeps fraction·n_l positives
// to within 2 (a random subset of the same size misses by several: its sd is
// sqrt(n_l·f·(1−f)), 3 to 7 here), and different seeds pick different examples.
func TestMultiLabelFractionStratifies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	s := indexedSplit(randomLabels(rng, 2000, 10))
	all := positives(s)
	for _, f := range []float64{0.05, 0.1, 0.3, 0.5} {
		var first []int
		for seed := range int64(3) {
			sub, err := LabelFraction(s, f, seed)
			if err != nil {
				t.Fatal(err)
			}
			if want := int(math.Round(f * 2000)); sub.N != want {
				t.Errorf("fraction %v: %d examples, want %d", f, sub.N, want)
			}
			got := positives(sub)
			for l := range all {
				if d := math.Abs(float64(got[l]) - f*float64(all[l])); d > 2 {
					t.Errorf("fraction %v seed %d: label %d keeps %d of %d positives, %.1f from %.1f", f, seed, l, got[l], all[l], d, f*float64(all[l]))
				}
			}
			if seed == 0 {
				first = origin(sub)
			} else if slices.Equal(first, origin(sub)) {
				t.Errorf("fraction %v: seeds 0 and %d keep the same examples", f, seed)
			}
		}
	}
}

// On the real ChestX-ray14 fixture (Edema has a single positive image, Pneumonia 4), a 10%
// label fraction keeps every finding.
func TestMultiLabelFractionChestXray(t *testing.T) {
	_, _, labels := chestRows(t)
	s := indexedSplit(labels)
	for seed := range int64(5) {
		sub, err := LabelFraction(s, 0.1, seed)
		if err != nil {
			t.Fatal(err)
		}
		for l, c := range positives(sub) {
			if c == 0 {
				t.Errorf("seed %d: finding %d lost", seed, l)
			}
		}
		if sub.N < 19 || sub.N > 19+14 {
			t.Errorf("seed %d: %d examples, want round(18.5) = 19 plus at most 14 seeds", seed, sub.N)
		}
		t.Logf("seed %d: %d images, positives %v of %v", seed, sub.N, positives(sub), positives(s))
	}
}

// Multi-label imbalance: the examples without a finding stay whole, every label ends at
// or below max(1, round(n_normal/ratio)), nothing is added, and labels stay present.
func TestMultiLabelInduceImbalance(t *testing.T) {
	_, _, labels := chestRows(t)
	s := indexedSplit(labels)
	normal := func(sp *Split) int {
		n := 0
		for i := range sp.N {
			if !slices.Contains(sp.LabelRow(i), 1) {
				n++
			}
		}
		return n
	}
	if normal(s) != 70 {
		t.Fatalf("%d images without a finding, want 70", normal(s))
	}
	for _, ratio := range []float64{1, 2, 5, 10} {
		sub, err := InduceImbalance(s, ratio, 4)
		if err != nil {
			t.Fatal(err)
		}
		limit := max(1, int(math.Round(70/ratio)))
		if normal(sub) != 70 {
			t.Errorf("ratio %v: %d normal images kept, want all 70", ratio, normal(sub))
		}
		for l, c := range positives(sub) {
			if c > limit || c == 0 {
				t.Errorf("ratio %v: label %d has %d positives, want 1..%d", ratio, l, c, limit)
			}
		}
		idx := origin(sub)
		if !slices.IsSorted(idx) {
			t.Errorf("ratio %v: order not kept", ratio)
		}
		if ratio == 1 && sub.N != s.N {
			t.Errorf("ratio 1 cut %d images although no finding outnumbers the normal ones", s.N-sub.N)
		}
	}
	sick := indexedSplit([][]int{{1, 0}, {0, 1}, {1, 1}})
	if _, err := InduceImbalance(sick, 2, 1); !errors.Is(err, ErrArgument) || !strings.Contains(err.Error(), "no example without a positive label") {
		t.Errorf("no normal examples: %v", err)
	}
}

func TestCheckLabelsNamesSplit(t *testing.T) {
	s := indexedSplit([][]int{{0, 1}, {1, 0}})
	if err := s.CheckLabels(); err != nil {
		t.Fatal(err)
	}
	bad := *s
	bad.Labels = []int32{0, 1, 2, 0}
	if err := bad.CheckLabels(); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), `split "train": example 1 label 0 is 2`) {
		t.Errorf("label 2: %v", err)
	}
	if _, err := LabelFraction(&bad, 0.5, 1); !errors.Is(err, ErrLabel) {
		t.Errorf("LabelFraction of a bad split: %v", err)
	}
	bad = *s
	bad.NumClasses = 3
	if err := bad.CheckLabels(); !errors.Is(err, ErrShape) {
		t.Errorf("2 labels per example, 3 declared: %v", err)
	}
	bad = *s
	bad.Labels = bad.Labels[:3]
	if err := bad.CheckLabels(); !errors.Is(err, ErrShape) {
		t.Errorf("short labels: %v", err)
	}
}

// labelBlindSplit is the reference a stratified split must beat: the same patients in a
// seeded random order, each dealt to the split furthest below its share of images, labels
// ignored.
func labelBlindSplit(patients []string, fr SplitFractions, seed int64) map[string]string {
	var ids []string
	size := map[string]int{}
	for _, p := range patients {
		if size[p] == 0 {
			ids = append(ids, p)
		}
		size[p]++
	}
	slices.Sort(ids)
	rng := rand.New(rand.NewPCG(uint64(seed), 77))
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	names := []string{"train", "val", "test"}
	share := []float64{fr.Train, fr.Val, fr.Test}
	got := make([]float64, 3)
	out := map[string]string{}
	for _, p := range ids {
		best := 0
		for j := range names {
			if share[j]*float64(len(patients))-got[j] > share[best]*float64(len(patients))-got[best] {
				best = j
			}
		}
		out[p] = names[best]
		got[best] += float64(size[p])
	}
	return out
}

// splitQuality measures how far a patient split's findings are from the fractions: the
// mean over splits and findings of |positives − fraction·total| / (fraction·total), and the
// number of (split, finding) pairs with no positive although the finding has at least 5.
func splitQuality(labels [][]int, splitOf []string, fr SplitFractions) (dev float64, missing int) {
	total := make([]float64, len(labels[0]))
	count := map[string][]float64{}
	for i, row := range labels {
		if count[splitOf[i]] == nil {
			count[splitOf[i]] = make([]float64, len(row))
		}
		for l, v := range row {
			total[l] += float64(v)
			count[splitOf[i]][l] += float64(v)
		}
	}
	n := 0
	for sp, f := range map[string]float64{"train": fr.Train, "val": fr.Val, "test": fr.Test} {
		for l, tot := range total {
			c := 0.0
			if count[sp] != nil {
				c = count[sp][l]
			}
			dev += math.Abs(c-f*tot) / (f * tot)
			n++
			if c == 0 && tot >= 5 {
				missing++
			}
		}
	}
	return dev / float64(n), missing
}

// A multi-label patient split on the real fixture: no patient in two splits, labels kept
// in the entries, seeded; and over 20 seeds its findings follow the fractions more closely,
// and go missing from a split less often, than a label-blind patient split's.
func TestSplitByPatientMultiLabel(t *testing.T) {
	files, patients, labels := chestRows(t)
	items := make([]Item, len(files))
	for i := range items {
		items[i] = Item{File: files[i], Patient: patients[i], Labels: labels[i]}
	}
	fr := SplitFractions{Train: 0.7, Val: 0.15, Test: 0.15}
	var previous *Manifest
	var dev, blindDev float64
	var missing, blindMissing int
	for seed := range int64(20) {
		m, err := SplitByPatient(items, fr, seed)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Check(); err != nil {
			t.Fatal(err)
		}
		where := map[string]string{}
		splitOf := make([]string, len(items))
		for i, e := range m.Entries {
			if e.File != files[i] || e.Patient != patients[i] || !slices.Equal(e.Labels, labels[i]) || e.Label != 0 {
				t.Fatalf("entry %d %+v does not match its item", i, e)
			}
			if s, ok := where[e.Patient]; ok && s != e.Split {
				t.Fatalf("patient %s in %s and %s", e.Patient, s, e.Split)
			}
			where[e.Patient], splitOf[i] = e.Split, e.Split
		}
		d, miss := splitQuality(labels, splitOf, fr)
		blind := labelBlindSplit(patients, fr, seed)
		for i := range splitOf {
			splitOf[i] = blind[patients[i]]
		}
		bd, bmiss := splitQuality(labels, splitOf, fr)
		dev, missing, blindDev, blindMissing = dev+d, missing+miss, blindDev+bd, blindMissing+bmiss
		again, _ := SplitByPatient(items, fr, seed)
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		if previous != nil && reflect.DeepEqual(previous.PatientsBySplit(), m.PatientsBySplit()) {
			t.Errorf("seeds %d and %d give the same split", seed-1, seed)
		}
		previous = m
	}
	t.Logf("20 seeds: mean relative deviation %.3f (label-blind %.3f), findings missing from a split %d (label-blind %d)",
		dev/20, blindDev/20, missing, blindMissing)
	if dev >= blindDev || missing >= blindMissing {
		t.Errorf("the stratified split is no better than a label-blind one")
	}
	// Mixed or malformed labels are errors naming the file.
	bad := slices.Clone(items)
	bad[3].Labels = []int{1, 0}
	if _, err := SplitByPatient(bad, fr, 1); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), files[3]) {
		t.Errorf("wrong label count: %v", err)
	}
	bad = slices.Clone(items)
	bad[5].Labels = slices.Clone(bad[5].Labels)
	bad[5].Labels[2] = 3
	if _, err := SplitByPatient(bad, fr, 1); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), files[5]) {
		t.Errorf("label 3: %v", err)
	}
	mixed := []Item{{File: "a", Patient: "1", Label: 1}, {File: "b", Patient: "2", Labels: []int{0, 1}}}
	if _, err := SplitByPatient(mixed, fr, 1); !errors.Is(err, ErrArgument) {
		t.Errorf("single- and multi-label items mixed: %v", err)
	}
}

// A multi-label manifest survives writing and reading, and Check rejects bad labels.
func TestManifestMultiLabelRoundTrip(t *testing.T) {
	files, patients, labels := chestRows(t)
	items := make([]Item, len(files))
	for i := range items {
		items[i] = Item{File: files[i], Patient: patients[i], Labels: labels[i]}
	}
	m, err := SplitByPatient(items, SplitFractions{Train: 0.8, Test: 0.2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	m.Classes = []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n"}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"patient_label": "iterative"`) || !strings.Contains(buf.String(), `"labels": [`) {
		t.Errorf("manifest JSON lacks the multi-label fields:\n%.400s", buf.String())
	}
	back, err := ReadManifest(&buf, "m.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Error("manifest changed through JSON")
	}
	m.Classes = m.Classes[:13]
	if err := m.Check(); !errors.Is(err, ErrLabel) {
		t.Errorf("14 labels, 13 classes: %v", err)
	}
	m.Classes = nil
	m.Entries[7].Labels = []int{0, 1}
	if err := m.Check(); !errors.Is(err, ErrLabel) || !strings.Contains(err.Error(), files[7]) {
		t.Errorf("entry with 2 labels: %v", err)
	}
}
