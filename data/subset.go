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

func needSingleLabel(s *Split, op string) error {
	if s == nil {
		return fmt.Errorf("data: %s: nil split: %w", op, ErrArgument)
	}
	if s.LabelDim != 1 || !s.Task.SingleLabel() {
		return fmt.Errorf("data: %s: split %q has %d labels per example: %w", op, s.Name, s.LabelDim, ErrMultiLabel)
	}
	return nil
}

// LabelFraction returns a stratified random subset that keeps, of each class c with n_c
// examples,
//
//	k_c = min(n_c, max(1, round(fraction * n_c)))
//
// examples (round half away from zero): the class proportions stay as in s and every
// class present in s keeps at least one example. fraction must be in (0, 1]; 1 returns a
// copy of s. Which examples are kept depends only on s and seed; they keep their order in
// s. Single-label splits only (ErrMultiLabel otherwise).
func LabelFraction(s *Split, fraction float64, seed int64) (*Split, error) {
	if err := needSingleLabel(s, "LabelFraction"); err != nil {
		return nil, err
	}
	if !(fraction > 0 && fraction <= 1) {
		return nil, fmt.Errorf("data: LabelFraction: fraction %v not in (0, 1]: %w", fraction, ErrArgument)
	}
	rng := newRand(seed, streamLabelFraction)
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
// seed; they keep their order in s. Single-label splits only.
func InduceImbalance(s *Split, ratio float64, seed int64) (*Split, error) {
	if err := needSingleLabel(s, "InduceImbalance"); err != nil {
		return nil, err
	}
	if !(ratio >= 1) || math.IsInf(ratio, 0) {
		return nil, fmt.Errorf("data: InduceImbalance: ratio %v, want a finite ratio >= 1: %w", ratio, ErrArgument)
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
