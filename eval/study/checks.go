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
	if c.segmentation() {
		return nil, nil // masks are checked when the volumes are read (data/seg)
	}
	ds := c.Dataset
	multi := ds.Train.MultiLabel()
	if missing := missingClasses(ds.Val); len(missing) > 0 && c.Folds == 0 {
		if !multi {
			return nil, fmt.Errorf("study: %s: the validation split has no example of class %s: model selection by validation AUC is undefined (re-split the data so every class is in it, or use cross-validation)",
				ds.File, c.classList(missing))
		}
		warnings = append(warnings, fmt.Sprintf("%s: the validation split has no positive of label %s: model selection averages the other labels' AUC",
			ds.File, c.classList(missing)))
	}
	tests := []TestSet{{ds.File + ": the test split", ds.Test}}
	for _, t := range c.ExternalTests {
		tests = append(tests, TestSet{"external test set " + t.Name, t.Split})
	}
	for _, t := range tests {
		if missing := missingClasses(t.Split); len(missing) > 0 {
			what := "its AUC is undefined (NaN) in every cell; accuracy and the other metrics are not"
			if multi {
				what = "that label's AUC is undefined and left out of the macro averages, the same for every arm"
			}
			warnings = append(warnings, fmt.Sprintf("%s has no %s %s: %s", t.Name, c.exampleOf(), c.classList(missing), what))
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
				if !multi {
					return nil, fmt.Errorf("study: %s: validation fold %d of seed %d has no example of class %s: model selection by validation AUC is undefined (use fewer folds)",
						ds.File, cell.Fold, cell.Seed, c.classList(missing))
				}
				warnings = append(warnings, fmt.Sprintf("%s: validation fold %d of seed %d has no positive of label %s: model selection averages the other labels' AUC",
					ds.File, cell.Fold, cell.Seed, c.classList(missing)))
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
		if !multi && present < 2 {
			return nil, fmt.Errorf("study: %s: %d labelled images, all of one class (per class: %s): no classifier can be trained or compared on it",
				where, labelled.N, counts(classCounts))
		}
		if multi && present == 0 {
			return nil, fmt.Errorf("study: %s: %d labelled images without any positive label: no classifier can be trained on it", where, labelled.N)
		}
		if missing := missingClasses(labelled); len(missing) > 0 {
			warnings = append(warnings, fmt.Sprintf("%s: no labelled %s %s (per %s: %s); its classifiers never learn it",
				where, c.exampleOf(), c.classList(missing), c.kind(), counts(classCounts)))
		}
	}
	return warnings, nil
}

// missingClasses lists the classes of a single-label split with no example, or the labels
// of a multi-label split with no positive.
func missingClasses(s *data.Split) []int {
	var out []int
	for k, n := range s.ClassCounts() {
		if n == 0 {
			out = append(out, k)
		}
	}
	return out
}

// kind is "class" or, for multi-label datasets, "label".
func (c *Config) kind() string {
	if c.Dataset.Train.MultiLabel() {
		return "label"
	}
	return "class"
}

// exampleOf says what a missing class lacks: an "example of class" or a "positive of label".
func (c *Config) exampleOf() string {
	if c.Dataset.Train.MultiLabel() {
		return "positive of label"
	}
	return "example of class"
}

// className names class (or label) k: the dataset's name for it when it has one.
func (c *Config) className(k int) string {
	if k < len(c.Dataset.Classes) {
		return fmt.Sprintf("%d (%s)", k, c.Dataset.Classes[k])
	}
	return fmt.Sprint(k)
}

func (c *Config) classList(ks []int) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = c.className(k)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
