package data

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// patientItems gives the real BreastMNIST training labels patients of 1 to 4 images of one
// class each (sizes cycling 1, 2, 3, 4), as a study with several images per patient.
func patientItems(t testing.TB) (items []Item, maxPerPatient int) {
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
			items = append(items, Item{File: fmt.Sprintf("img%04d.png", i), Label: s.Label(i), Patient: fmt.Sprintf("c%d-p%03d", c, p)})
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
	items := []Item{{"a1", 1, "A", nil}, {"a2", 1, "A", nil}, {"a3", 0, "A", nil}, {"b1", 0, "B", nil}, {"b2", 1, "B", nil}}
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
	if _, err := SplitByPatient([]Item{{"x", 0, "", nil}}, SplitFractions{Train: 1}, 1); err == nil {
		t.Error("item without patient accepted")
	}
}
