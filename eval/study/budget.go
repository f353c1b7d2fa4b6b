package study

import (
	"fmt"
	"slices"
	"strings"
)

// endedOnLastValidation tells whether r's run kept the model of its last validation (its
// best epoch is its last epoch, or its best step its last step), and whether r is a trained
// run at all (kNN cells have nothing to tell).
func endedOnLastValidation(r Result) (last, trained bool) {
	best, okBest := r.Selected["best_epoch"]
	n, okN := r.Selected["epochs"]
	if !okBest || !okN {
		best, okBest = r.Selected["best_step"]
		n, okN = r.Selected["steps"]
	}
	if !okBest || !okN || n <= 0 {
		return false, false
	}
	return best == n, true
}

// budgetNotes lists the (arm, label fraction, imbalance) groups in which every run kept the
// model of its last validation: such an arm was, as far as validation can tell, still
// improving when its budget ended, and a longer run may change its numbers and the
// comparison. It is a prompt to check, not a proof (a decaying learning rate also puts the
// best model late); groups of a single run are left out.
func budgetNotes(results []Result) []string {
	type group struct {
		label           string
		fraction, ratio float64
	}
	total, last := map[group]int{}, map[group]int{}
	for _, r := range results {
		ended, trained := endedOnLastValidation(r)
		if !trained {
			continue
		}
		g := group{r.Label, r.Fraction, r.Imbalance}
		total[g]++
		if ended {
			last[g]++
		}
	}
	var notes []string
	for g, n := range total {
		if n > 1 && last[g] == n {
			notes = append(notes, fmt.Sprintf("%s at %s labels (imbalance %s): all %d runs", g.label, pct(g.fraction), ratio(g.ratio), n))
		}
	}
	slices.Sort(notes)
	return notes
}

// writeBudgetNotes writes budgetNotes as a short section, or nothing.
func writeBudgetNotes(b *strings.Builder, results []Result) {
	notes := budgetNotes(results)
	if len(notes) == 0 {
		return
	}
	b.WriteString("**Budget check:** these arms kept the model of their last validation in every run, so they may still have been improving when their budget ended; a longer run (more epochs or steps) may change their numbers and the comparison:\n\n")
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	b.WriteString("\n")
}
