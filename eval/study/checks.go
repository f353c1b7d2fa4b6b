package study

import (
	"fmt"
	"strings"

	"github.com/medssl/medssl/data"
)

// checkLabels catches, before anything trains, the labels that would make a result
// meaningless. Errors: a cell's labelled training split (after its fold, imbalance ratio
// and label fraction) with fewer than two classes, and a validation split (or fold) missing
// a class (model selection by validation AUC is then undefined). Warnings, printed and
// written into the report because the run can still mean something: a labelled split
// missing some classes (its classifier never predicts them) and a test split (internal or
// external) missing a class (its AUC is undefined, NaN; accuracy still is).
func (c *Config) checkLabels() (warnings []string, err error) {
	ds := c.Dataset
	if missing := missingClasses(ds.Val); len(missing) > 0 && c.Folds == 0 {
		return nil, fmt.Errorf("study: %s: the validation split has no example of class %s: model selection by validation AUC is undefined (re-split the data so every class is in it, or use cross-validation)",
			ds.File, classList(missing))
	}
	tests := []TestSet{{ds.File + ": the test split", ds.Test}}
	for _, t := range c.ExternalTests {
		tests = append(tests, TestSet{"external test set " + t.Name, t.Split})
	}
	for _, t := range tests {
		if missing := missingClasses(t.Split); len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s has no example of class %s: its AUC is undefined (NaN) in every cell; accuracy and the other metrics are not",
				t.Name, classList(missing)))
		}
	}
	seen := map[Cell]bool{}
	valSeen := map[Replicate]bool{}
	for _, cell := range c.cells() {
		k := Cell{Imbalance: cell.Imbalance, Fraction: cell.Fraction, Seed: cell.Seed, Fold: cell.Fold}
		if seen[k] {
			continue
		}
		seen[k] = true
		_, labelled, val, err := c.splits(cell)
		if err != nil {
			return nil, err
		}
		if r := cell.Replicate(); cell.Fold > 0 && !valSeen[r] {
			valSeen[r] = true
			if missing := missingClasses(val); len(missing) > 0 {
				return nil, fmt.Errorf("study: %s: validation fold %d of seed %d has no example of class %s: model selection by validation AUC is undefined (use fewer folds)",
					ds.File, cell.Fold, cell.Seed, classList(missing))
			}
		}
		classCounts := labelled.ClassCounts()
		present := 0
		for _, n := range classCounts {
			if n > 0 {
				present++
			}
		}
		where := fmt.Sprintf("%s, training split at %s labels, imbalance %s, %s", ds.File, pct(cell.Fraction), ratio(cell.Imbalance), cell.Replicate())
		if present < 2 {
			return nil, fmt.Errorf("study: %s: %d labelled images, all of one class (per class: %s): no classifier can be trained or compared on it",
				where, labelled.N, counts(classCounts))
		}
		if missing := missingClasses(labelled); len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: no labelled image of class %s (per class: %s); its classifiers never predict it",
				where, classList(missing), counts(classCounts)))
		}
	}
	return warnings, nil
}

// missingClasses lists the classes of a single-label split with no example.
func missingClasses(s *data.Split) []int {
	var out []int
	for k, n := range s.ClassCounts() {
		if n == 0 {
			out = append(out, k)
		}
	}
	return out
}

func classList(ks []int) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = fmt.Sprint(k)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
