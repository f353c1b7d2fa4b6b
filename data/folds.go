package data

import (
	"cmp"
	"fmt"
	"slices"
)

// streamFolds is the random stream of cross-validation folds (subset.go has the others).
const streamFolds uint64 = 1 << 17

// Folds cuts s into k cross-validation folds and returns each fold's example indices, in
// increasing order. Every example is in exactly one fold; all the examples of a patient
// (Split.Patients; without ids every example is its own patient) are in the same fold; and
// each fold's labels follow s's as closely as whole patients allow: stratified for single-
// label splits (per class) and for multi-label ones (per label, and for the examples with
// no positive label), in the spirit of iterative stratification (Sechidis et al. 2011).
//
// The rule is greedy and documented so that it can be checked: patients are shuffled with
// the seed, then taken largest first (a stable sort by number of examples); each goes to the
// fold where it adds the least to Σ_c (n_fc / t_c)² + (n_f / t)², n_fc being the fold's
// examples of class (or label) c, t_c = total_c / k its share, n_f the fold's size and t = N / k.
// Ties go to the lower fold. The folds depend only on s, k and seed.
func Folds(s *Split, k int, seed int64) ([][]int, error) {
	if s == nil {
		return nil, fmt.Errorf("data: Folds: nil split: %w", ErrArgument)
	}
	if s.Patients != nil && len(s.Patients) != s.N {
		return nil, fmt.Errorf("data: Folds: split %q has %d examples but %d patient ids: %w", s.Name, s.N, len(s.Patients), ErrArgument)
	}
	type patient struct {
		examples []int
		counts   []float64 // per class (or label, plus one for "no positive label")
	}
	dims := s.NumClasses
	if s.LabelDim != 1 {
		dims = s.LabelDim + 1
	}
	byID := map[string]*patient{}
	var patients []*patient
	for i := range s.N {
		var p *patient
		if s.Patients == nil {
			p = &patient{counts: make([]float64, dims)}
			patients = append(patients, p)
		} else if p = byID[s.Patients[i]]; p == nil {
			p = &patient{counts: make([]float64, dims)}
			byID[s.Patients[i]] = p
			patients = append(patients, p)
		}
		p.examples = append(p.examples, i)
		if s.LabelDim == 1 {
			p.counts[s.Label(i)]++
			continue
		}
		any := false
		for j, v := range s.LabelRow(i) {
			if v != 0 {
				p.counts[j]++
				any = true
			}
		}
		if !any {
			p.counts[dims-1]++
		}
	}
	if k < 2 || k > len(patients) {
		return nil, fmt.Errorf("data: Folds: %d folds of split %q, want 2 to its %d patients: %w", k, s.Name, len(patients), ErrArgument)
	}

	rng := newRand(seed, streamFolds)
	rng.Shuffle(len(patients), func(i, j int) { patients[i], patients[j] = patients[j], patients[i] })
	slices.SortStableFunc(patients, func(a, b *patient) int { return cmp.Compare(len(b.examples), len(a.examples)) })

	share := make([]float64, dims) // t_c
	for _, p := range patients {
		for c, n := range p.counts {
			share[c] += n
		}
	}
	for c := range share {
		share[c] = max(share[c], 1) / float64(k)
	}
	size := float64(s.N) / float64(k)
	counts := make([][]float64, k)
	sizes := make([]float64, k)
	folds := make([][]int, k)
	for f := range counts {
		counts[f] = make([]float64, dims)
	}
	for _, p := range patients {
		best, bestCost := 0, 0.0
		for f := range k {
			n := float64(len(p.examples))
			cost := ((sizes[f]+n)*(sizes[f]+n) - sizes[f]*sizes[f]) / (size * size)
			for c, g := range p.counts {
				if g != 0 {
					cost += ((counts[f][c]+g)*(counts[f][c]+g) - counts[f][c]*counts[f][c]) / (share[c] * share[c])
				}
			}
			if f == 0 || cost < bestCost {
				best, bestCost = f, cost
			}
		}
		for c, g := range p.counts {
			counts[best][c] += g
		}
		sizes[best] += float64(len(p.examples))
		folds[best] = append(folds[best], p.examples...)
	}
	for _, f := range folds {
		slices.Sort(f)
	}
	return folds, nil
}

// FoldSplits returns the training and validation splits of fold f of folds (from Folds on
// s): validation is fold f, training every other fold, both in s's order.
func FoldSplits(s *Split, folds [][]int, f int) (train, val *Split, err error) {
	if f < 0 || f >= len(folds) {
		return nil, nil, fmt.Errorf("data: FoldSplits: fold %d of %d: %w", f, len(folds), ErrArgument)
	}
	var rest []int
	for g, idx := range folds {
		if g != f {
			rest = append(rest, idx...)
		}
	}
	slices.Sort(rest)
	return s.Subset(rest), s.Subset(folds[f]), nil
}
