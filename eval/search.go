package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/supervised"
)

// Search is the hyperparameter search every trained arm (supervised, fine-tuning, linear
// probe) runs on the validation split: one training per (learning rate, weight decay), the
// one with the best validation AUC kept (the first in grid order on ties; each keeps its
// own best epoch). The test split is never looked at. Using one Search for every arm is the
// rule that keeps the comparison fair: no arm gets more tuning than another.
type Search struct {
	// LRFactors multiply the recipe's learning rate (empty: the recipe's rate alone).
	LRFactors []float64
	// WeightDecays replace the recipe's weight decay (empty: the recipe's alone).
	WeightDecays []float64
}

// DefaultSearch tries each arm's recipe learning rate ×0.1, ×1 and ×10 with the recipe's
// weight decay: three trainings per arm, a decade either side.
func DefaultSearch() Search { return Search{LRFactors: []float64{0.1, 1, 10}} }

// Trials returns the number of trainings the search runs.
func (s Search) Trials() int { return max(1, len(s.LRFactors)) * max(1, len(s.WeightDecays)) }

// Validate reports a factor or weight decay the search cannot use.
func (s Search) Validate() error {
	for _, f := range s.LRFactors {
		if !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("eval: search: learning-rate factor %v, want > 0 and finite", f)
		}
	}
	for _, wd := range s.WeightDecays {
		if !(wd >= 0) || math.IsInf(wd, 0) {
			return fmt.Errorf("eval: search: weight decay %v, want >= 0 and finite", wd)
		}
	}
	return nil
}

// points returns the recipes the search trains, in grid order (learning rates outer).
func (s Search) points(recipe supervised.Config) []supervised.Config {
	factors, wds := s.LRFactors, s.WeightDecays
	if len(factors) == 0 {
		factors = []float64{1}
	}
	if len(wds) == 0 {
		wds = []float64{recipe.Optimizer.WeightDecay}
	}
	var out []supervised.Config
	for _, f := range factors {
		for _, wd := range wds {
			c := recipe
			c.Optimizer.LearningRate, c.Optimizer.WeightDecay = recipe.Optimizer.LearningRate*f, wd
			out = append(out, c)
		}
	}
	return out
}

// Trial is one point of a search and how it did on the validation split.
type Trial struct {
	LearningRate, WeightDecay float64
	BestValAUC                float64
	BestEpoch                 int
}

// TrainSearch trains the classifier recipe describes (supervised.Train, from scratch or
// from recipe.Pretrained) at every point of s and returns the one with the best validation
// AUC, its learning rate and weight decay, and every trial.
func TrainSearch(trainSplit, valSplit *data.Split, numClasses int, recipe supervised.Config, s Search) (best *supervised.Classifier, chosen supervised.Config, trials []Trial, err error) {
	if err := s.Validate(); err != nil {
		return nil, supervised.Config{}, nil, err
	}
	for _, c := range s.points(recipe) {
		clf, err := supervised.Train(trainSplit, valSplit, numClasses, c)
		if err != nil {
			return nil, supervised.Config{}, nil, fmt.Errorf("eval: search lr %g wd %g: %w", c.Optimizer.LearningRate, c.Optimizer.WeightDecay, err)
		}
		trials = append(trials, Trial{LearningRate: c.Optimizer.LearningRate, WeightDecay: c.Optimizer.WeightDecay, BestValAUC: clf.BestValAUC, BestEpoch: clf.BestEpoch})
		if best == nil || clf.BestValAUC > best.BestValAUC {
			best, chosen = clf, c
		}
	}
	if best == nil {
		return nil, supervised.Config{}, nil, errors.New("eval: empty search")
	}
	return best, chosen, trials, nil
}
