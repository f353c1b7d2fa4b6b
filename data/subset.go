package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// newRand returns the package's seeded generator: PCG seeded with (seed, stream), so each
// use (subset, epoch) gets its own reproducible stream.
func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}

// Random streams, one per kind of draw, so the same seed gives unrelated draws.
const (
	streamLabelFraction uint64 = 1 + iota
	streamImbalance
	streamEpochs   = 1 << 32 // + epoch number
	streamBalanced = 2 << 32 // + epoch number
)

// errNoNormal: a multi-label split without all-negative examples cannot be imbalanced.
var errNoNormal = fmt.Errorf("no example without a positive label, so no majority to set the ratio against: %w", ErrArgument)

func needSingleLabel(s *Split, op string) error {
	if s == nil {
		return fmt.Errorf("data: %s: nil split: %w", op, ErrArgument)
	}
	if s.LabelDim != 1 || !s.Task.SingleLabel() {
		return fmt.Errorf("data: %s: split %q has %d labels per example: %w", op, s.Name, s.LabelDim, ErrMultiLabel)
	}
	return nil
}

// LabelFraction returns a stratified random subset of s holding about fraction of its
// examples. fraction must be in (0, 1]; 1 returns a copy of s. Which examples are kept
// depends only on s and seed; they keep their order in s.
//
// Single-label splits keep, of each class c with n_c examples,
//
//	k_c = min(n_c, max(1, round(fraction * n_c)))
//
// examples (round half away from zero): the class proportions stay as in s and every
// class present in s keeps at least one example.
//
// Multi-label splits (Split.MultiLabel) keep exactly
//
//	k = max(m, min(N, max(1, round(fraction * N))))
//
// examples, chosen in two steps. First, every label with at least one positive example in
// s gets one, rarest label first (an example drawn at random among that label's, unless an
// example already drawn has the label); these m seeds (m <= the number of labels present)
// mean that every label present in s stays present, whatever the fraction. Then the other
// examples are dealt between "kept" (k - m places) and "left out" by iterative
// stratification (Sechidis et al. 2011, see stratify.go), which aims every label's
// positives kept at fraction times its positives in s, rarest labels first; examples
// without any positive label fill the remaining places.
func LabelFraction(s *Split, fraction float64, seed int64) (*Split, error) {
	if s == nil {
		return nil, fmt.Errorf("data: LabelFraction: nil split: %w", ErrArgument)
	}
	if !(fraction > 0 && fraction <= 1) {
		return nil, fmt.Errorf("data: LabelFraction: fraction %v not in (0, 1]: %w", fraction, ErrArgument)
	}
	if err := s.CheckLabels(); err != nil {
		return nil, fmt.Errorf("data: LabelFraction: %w", err)
	}
	rng := newRand(seed, streamLabelFraction)
	if s.MultiLabel() {
		if fraction == 1 {
			return s.Subset(allIndices(s.N)), nil
		}
		return s.Subset(multiLabelFraction(s, fraction, rng)), nil
	}
	var keep []int
	for _, idx := range s.ClassIndices() {
		if len(idx) == 0 {
			continue
		}
		k := min(len(idx), max(1, int(math.Round(fraction*float64(len(idx))))))
		keep = append(keep, sample(rng, idx, k)...)
	}
	slices.Sort(keep)
	return s.Subset(keep), nil
}

// InduceImbalance returns a subset of s in which every class except the majority is cut
// down, at random, to at most
//
//	cap = max(1, round(n_max / ratio))
//
// examples, where n_max is the size of the largest class (the majority; ties go to the
// lowest class index). Classes already at or below cap and the majority class are kept
// whole; nothing is ever added.
//
// For a binary split this makes majority:minority = n_max:cap, ratio up to rounding
// (unless the minority was already smaller). For a multi-class split, ratio is the
// majority's count over each other class's count: afterwards every non-majority class c
// has n_c <= n_max/ratio (rounded), so n_max / min_c n_c >= ratio (up to rounding).
// ratio must be >= 1; 1 leaves s unchanged. Which examples are kept depends only on s and
// seed; they keep their order in s.
//
// Multi-label splits have no majority class, so the examples without any positive label
// (the "no finding" images of a chest X-ray set) play its part: they are kept whole, and
// every label's positives are cut down, at random, to at most
//
//	cap = max(1, round(n_normal / ratio))
//
// where n_normal is the number of examples without a positive label; afterwards every
// label l has n_normal / n_l >= ratio (up to rounding), the per-label analogue of the
// single-label rule. Cutting an example removes it for all its labels, so the most
// over-represented label loses an example at a time (ties: the lower label), drawn among
// its examples whose removal leaves every other label at least one positive when there
// are such. Labels already at or below cap may lose examples this way, never gain any;
// with ratio 1 only labels more frequent than normal examples are cut. A multi-label
// split without a single all-negative example has nothing to anchor the ratio to:
// ErrArgument.
func InduceImbalance(s *Split, ratio float64, seed int64) (*Split, error) {
	if s == nil {
		return nil, fmt.Errorf("data: InduceImbalance: nil split: %w", ErrArgument)
	}
	if !(ratio >= 1) || math.IsInf(ratio, 0) {
		return nil, fmt.Errorf("data: InduceImbalance: ratio %v, want a finite ratio >= 1: %w", ratio, ErrArgument)
	}
	if err := s.CheckLabels(); err != nil {
		return nil, fmt.Errorf("data: InduceImbalance: %w", err)
	}
	if s.MultiLabel() {
		keep, err := multiLabelImbalance(s, ratio, newRand(seed, streamImbalance))
		if err != nil {
			return nil, fmt.Errorf("data: InduceImbalance: split %q: %w", s.Name, err)
		}
		return s.Subset(keep), nil
	}
	classes := s.ClassIndices()
	majority := 0
	for c, idx := range classes {
		if len(idx) > len(classes[majority]) {
			majority = c
		}
	}
	limit := max(1, int(math.Round(float64(len(classes[majority]))/ratio)))
	rng := newRand(seed, streamImbalance)
	var keep []int
	for c, idx := range classes {
		if c == majority || len(idx) <= limit {
			keep = append(keep, idx...)
			continue
		}
		keep = append(keep, sample(rng, idx, limit)...)
	}
	slices.Sort(keep)
	return s.Subset(keep), nil
}

// sample returns k of idx chosen uniformly without replacement (a partial Fisher-Yates
// shuffle of a copy).
func sample(rng *rand.Rand, idx []int, k int) []int {
	c := slices.Clone(idx)
	for i := 0; i < k; i++ {
		j := i + rng.IntN(len(c)-i)
		c[i], c[j] = c[j], c[i]
	}
	return c[:k]
}
