package data

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Iterative stratification (Sechidis, Tsoumakas & Vlahavas, "On the stratification of
// multi-label data", ECML PKDD 2011, Algorithm 1) deals units (examples, or patients with
// all their images) to subsets so that every label's positives are spread as the subsets'
// shares ask, rarest labels first, where a random split would often leave a rare label
// out of a small subset altogether.
//
// The version here differs from the paper in three documented ways: ties between subsets
// go to the earlier subset instead of a random one (the units' order is already seeded,
// so the result stays reproducible and unbiased); a unit may carry a weight (a patient's
// number of images) and counts of positives per label rather than 0/1; and with capacity
// set, a subset whose wanted size is used up takes no more units, so subset sizes come
// out exact (LabelFraction needs exactly its size).

// stratum is one unit to deal: its weight and its positives per label.
type stratum struct {
	size int
	pos  []int // per label, >= 0
}

// stratify assigns every unit to one of len(want) subsets and returns the assignment.
//
//   - want[j] is the total weight subset j should receive, wantLabel[j][l] the positives
//     of label l; both are decremented as units are dealt (the caller's slices change).
//   - open[j] false keeps subset j empty (a split fraction of 0).
//   - capacity: a unit goes only to a subset whose want is at least the unit's size
//     (when some subset still has that room).
//   - order is the order units are visited in, within each label and at the end.
//
// Each round takes the label with the fewest positive units still unassigned (ties: the
// lower label) and deals those units, in order, each to the open subset that most wants
// that label (ties: the one that most wants weight, then the earlier subset). Units
// without any positive go last, each to the subset that most wants weight.
func stratify(units []stratum, order []int, want []float64, wantLabel [][]float64, open []bool, capacity bool) []int {
	assign := make([]int, len(units))
	for i := range assign {
		assign[i] = -1
	}
	labels := 0
	if len(units) > 0 {
		labels = len(units[0].pos)
	}
	remaining := make([]int, labels) // unassigned units positive for each label
	for _, u := range units {
		for l, p := range u.pos {
			if p > 0 {
				remaining[l]++
			}
		}
	}
	// pick returns the subset unit u goes to, comparing wantLabel[·][l] first when l >= 0.
	pick := func(u int, l int) int {
		best := -1
		better := func(j int) bool {
			if best < 0 {
				return true
			}
			if l >= 0 && wantLabel[j][l] != wantLabel[best][l] {
				return wantLabel[j][l] > wantLabel[best][l]
			}
			return want[j] > want[best]
		}
		for _, room := range []bool{true, false} {
			for j := range want {
				if !open[j] || (capacity && room && want[j] < float64(units[u].size)) {
					continue
				}
				if better(j) {
					best = j
				}
			}
			if best >= 0 || !capacity {
				break
			}
		}
		return best
	}
	put := func(u, j int) {
		assign[u] = j
		want[j] -= float64(units[u].size)
		for l, p := range units[u].pos {
			wantLabel[j][l] -= float64(p)
			if p > 0 {
				remaining[l]--
			}
		}
	}
	for {
		l := -1
		for k, r := range remaining {
			if r > 0 && (l < 0 || r < remaining[l]) {
				l = k
			}
		}
		if l < 0 {
			break
		}
		for _, u := range order {
			if assign[u] < 0 && units[u].pos[l] > 0 {
				put(u, pick(u, l))
			}
		}
	}
	for _, u := range order {
		if assign[u] < 0 {
			put(u, pick(u, -1))
		}
	}
	return assign
}

// multiLabelFraction is LabelFraction for multi-label splits; see LabelFraction.
func multiLabelFraction(s *Split, fraction float64, rng *rand.Rand) []int {
	n, L := s.N, s.LabelDim
	units := make([]stratum, n)
	total := make([]int, L)
	for i := range units {
		pos := make([]int, L)
		for l, v := range s.LabelRow(i) {
			if v != 0 {
				pos[l] = 1
				total[l]++
			}
		}
		units[i] = stratum{size: 1, pos: pos}
	}
	order := allIndices(n)
	rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	assign := make([]int, n)
	for i := range assign {
		assign[i] = -1
	}
	// Seeds: one example of every label present, rarest label first, unless an example
	// already kept has it.
	keptLabel := make([]int, L)
	byRarity := make([]int, 0, L)
	for l, c := range total {
		if c > 0 {
			byRarity = append(byRarity, l)
		}
	}
	slices.SortStableFunc(byRarity, func(a, b int) int { return total[a] - total[b] })
	seeds := 0
	for _, l := range byRarity {
		if keptLabel[l] > 0 {
			continue
		}
		var cand []int
		for _, i := range order {
			if assign[i] < 0 && units[i].pos[l] > 0 {
				cand = append(cand, i)
			}
		}
		i := cand[rng.IntN(len(cand))]
		assign[i] = 0
		seeds++
		for k, p := range units[i].pos {
			keptLabel[k] += p
		}
	}
	k := max(seeds, min(n, max(1, int(math.Round(fraction*float64(n))))))
	// Deal the rest: subset 0 is kept, 1 is left out.
	var rest []stratum
	var restOrder []int
	at := make([]int, n) // example -> its index in rest
	for _, i := range order {
		if assign[i] < 0 {
			at[i] = len(rest)
			restOrder = append(restOrder, len(rest))
			rest = append(rest, units[i])
		}
	}
	want := []float64{float64(k - seeds), float64(n - k)}
	wantLabel := [][]float64{make([]float64, L), make([]float64, L)}
	for l, c := range total {
		wantLabel[0][l] = fraction*float64(c) - float64(keptLabel[l])
		wantLabel[1][l] = (1 - fraction) * float64(c)
	}
	sub := stratify(rest, restOrder, want, wantLabel, []bool{true, true}, true)
	keep := make([]int, 0, k)
	for i := range n {
		if assign[i] == 0 || (assign[i] < 0 && sub[at[i]] == 0) {
			keep = append(keep, i)
		}
	}
	return keep
}

// multiLabelImbalance is InduceImbalance for multi-label splits; see InduceImbalance.
func multiLabelImbalance(s *Split, ratio float64, rng *rand.Rand) ([]int, error) {
	n, L := s.N, s.LabelDim
	normal := 0
	count := make([]int, L)
	byLabel := make([][]int, L)
	for i := range n {
		positive := false
		for l, v := range s.LabelRow(i) {
			if v != 0 {
				positive = true
				count[l]++
				byLabel[l] = append(byLabel[l], i)
			}
		}
		if !positive {
			normal++
		}
	}
	if normal == 0 {
		return nil, errNoNormal
	}
	limit := max(1, int(math.Round(float64(normal)/ratio)))
	removed := make([]bool, n)
	drop := func(i int) {
		removed[i] = true
		for l, v := range s.LabelRow(i) {
			if v != 0 {
				count[l]--
			}
		}
	}
	for {
		// The label furthest above the limit (ties: the lower label) loses one example.
		worst := -1
		for l, c := range count {
			if c > limit && (worst < 0 || c > count[worst]) {
				worst = l
			}
		}
		if worst < 0 {
			break
		}
		// Prefer an example whose removal leaves every other label present.
		var safe, all []int
		for _, i := range byLabel[worst] {
			if removed[i] {
				continue
			}
			all = append(all, i)
			last := false
			for l, v := range s.LabelRow(i) {
				if v != 0 && l != worst && count[l] == 1 {
					last = true
				}
			}
			if !last {
				safe = append(safe, i)
			}
		}
		if len(safe) > 0 {
			drop(safe[rng.IntN(len(safe))])
		} else {
			drop(all[rng.IntN(len(all))])
		}
	}
	var keep []int
	for i := range n {
		if !removed[i] {
			keep = append(keep, i)
		}
	}
	return keep, nil
}
