package data

import "slices"

// ShuffledOrder is the visiting order of epoch e of n examples shuffled with seed: a
// permutation that depends only on (seed, e). Batches with WithShuffle visit in it.
func ShuffledOrder(n int, seed int64, e int) []int {
	idx := allIndices(n)
	rng := newRand(seed, streamEpochs+uint64(e))
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	return idx
}

// BalancedOrder is the visiting order of epoch e of a class-balanced sampler over examples
// with the given single-label classes (in [0, numClasses)): an epoch keeps its length
// n = len(labels) but draws every class present equally often, n/K times (the remainder
// goes to classes drawn at random), so minority examples are repeated and majority ones
// left out. Each class's draws go through its examples in a fresh random order, starting
// over when they run out, so within an epoch an example repeats only after all its class
// has been drawn. The draws are then shuffled. It depends only on (seed, e), so a resumed
// run replays the same epochs.
func BalancedOrder(labels []int32, numClasses int, seed int64, e int) []int {
	rng := newRand(seed, streamBalanced+uint64(e))
	byClass := make([][]int, numClasses)
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	var present []int
	for c, idx := range byClass {
		if len(idx) > 0 {
			present = append(present, c)
		}
	}
	n := len(labels)
	if len(present) == 0 {
		return nil
	}
	quota := make([]int, numClasses)
	for _, c := range present {
		quota[c] = n / len(present)
	}
	extra := slices.Clone(present)
	rng.Shuffle(len(extra), func(i, j int) { extra[i], extra[j] = extra[j], extra[i] })
	for _, c := range extra[:n%len(present)] {
		quota[c]++
	}
	out := make([]int, 0, n)
	for _, c := range present {
		idx := slices.Clone(byClass[c])
		for drawn := 0; drawn < quota[c]; {
			rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
			k := min(len(idx), quota[c]-drawn)
			out = append(out, idx[:k]...)
			drawn += k
		}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
