package study

import (
	"fmt"
	"math"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/supervised"
)

// splits returns the training split cut to the cell's imbalance ratio (the images its own
// pretraining sees), its labelled subset (the cell's label fraction of it) and the
// validation split. Under cross-validation the training split is the other folds of the
// development set (train and val together) and the validation split the cell's fold. All
// depend only on the cell's fold, imbalance, fraction and seed.
func (c *Config) splits(cell Cell) (imbalanced, labelled, val *data.Split, err error) {
	imbalanced, val = c.Dataset.Train, c.Dataset.Val
	if cell.Fold > 0 {
		if imbalanced, val, err = c.fold(cell.Seed, cell.Fold); err != nil {
			return nil, nil, nil, err
		}
	}
	if cell.Imbalance != 1 {
		if imbalanced, err = data.InduceImbalance(imbalanced, cell.Imbalance, cell.Seed); err != nil {
			return nil, nil, nil, fmt.Errorf("study: %s: %w", cell.Key(), err)
		}
	}
	labelled = imbalanced
	if cell.Fraction != 1 {
		if labelled, err = data.LabelFraction(imbalanced, cell.Fraction, cell.Seed); err != nil {
			return nil, nil, nil, fmt.Errorf("study: %s: %w", cell.Key(), err)
		}
	}
	return imbalanced, labelled, val, nil
}

// fold returns the training and validation splits of fold f (1-based) of the seed's
// cross-validation of the development set (the dataset's train and val splits together).
func (c *Config) fold(seed int64, f int) (train, val *data.Split, err error) {
	dev, err := data.Concat("train+val", c.Dataset.Train, c.Dataset.Val)
	if err != nil {
		return nil, nil, fmt.Errorf("study: %w", err)
	}
	folds, err := data.Folds(dev, c.Folds, seed)
	if err != nil {
		return nil, nil, fmt.Errorf("study: cross-validation of %s: %w", c.Dataset.Name, err)
	}
	return data.FoldSplits(dev, folds, f-1)
}

// runCell trains and scores one cell. pretrained is the encoder store of the cell's
// pretraining (nil for the supervised arm and method "none").
func (c *Config) runCell(s *settings, cell Cell, pretrained *model.Store) (Result, error) {
	t0 := time.Now()
	if c.segmentation() {
		res, err := c.runSegmentationCell(s, cell, pretrained)
		res.Seconds = time.Since(t0).Seconds()
		res.Finished = time.Now().UTC().Truncate(time.Second)
		return res, err
	}
	ds := c.Dataset
	_, labelled, val, err := c.splits(cell)
	if err != nil {
		return Result{}, err
	}
	if cell.Arm.UsesEncoder() && pretrained == nil {
		pretrained = eval.RandomEncoder(cell.Seed)
	}
	protocols, err := c.protocolsFor(cell.Remedy)
	if err != nil {
		return Result{}, err
	}
	out, err := eval.RunArm(cell.Arm, eval.ArmInput{Backend: c.Backend, Encoder: c.Encoder, Pretrained: pretrained,
		Train: labelled, Val: val, Test: ds.Test, NumClasses: ds.NumClasses, Seed: cell.Seed}, protocols)
	if err != nil {
		return Result{}, err
	}
	res := Result{Cell: cell, Label: cell.Label(), Fingerprint: c.fingerprint(s, cell), TrainN: labelled.N,
		TrainClassCounts: labelled.ClassCounts(), Selected: out.Selected,
		ValAUC: out.ValAUC, ValAUCs: out.ValAUCs, TrainLoss: out.TrainLoss}
	internal, err := c.score(ds.Test, InternalTest, out.TestScores, cell.Seed)
	if err != nil {
		return Result{}, fmt.Errorf("study: %s: test metrics: %w", cell.Key(), err)
	}
	res.TestLabels, res.TestTargets, res.TestScores = internal.Labels, internal.Targets, internal.Scores
	res.Metrics, res.AUCLow, res.AUCHigh = internal.Metrics, internal.AUCLow, internal.AUCHigh
	for _, t := range c.ExternalTests {
		scores, err := out.Model.Scores(t.Split)
		if err != nil {
			return Result{}, fmt.Errorf("study: %s: external test set %s: %w", cell.Key(), t.Name, err)
		}
		ext, err := c.score(t.Split, t.Name, scores, cell.Seed)
		if err != nil {
			return Result{}, fmt.Errorf("study: %s: external test set %s: %w", cell.Key(), t.Name, err)
		}
		res.External = append(res.External, ext)
	}
	if c.explains(cell) {
		var enc *model.Store
		if cell.Arm == eval.ArmKNN {
			enc = pretrained
		}
		if err := c.explainCell(cell, out, enc); err != nil {
			return Result{}, fmt.Errorf("study: %s: explanations: %w", cell.Key(), err)
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	res.Finished = time.Now().UTC().Truncate(time.Second)
	return res, nil
}

// score evaluates a model's scores of a test split: its metrics (supervised.Score: single-
// or multi-label) and the bootstrap interval of its AUC.
func (c *Config) score(split *data.Split, name string, scores [][]float64, seed int64) (TestResult, error) {
	t := TestResult{Name: name, Scores: scores}
	m, err := supervised.Score(split, scores)
	if err != nil {
		return t, err
	}
	t.Metrics = m.Map()
	if split.MultiLabel() {
		t.Targets = split.IntLabelRows()
		t.AUCLow, t.AUCHigh = c.bootstrapMultiLabelAUC(t.Targets, scores, seed)
	} else {
		t.Labels = split.IntLabels()
		t.AUCLow, t.AUCHigh = c.bootstrapAUC(t.Labels, scores, seed)
	}
	return t, nil
}

// bootstrapAUC returns the 95% stratified percentile-bootstrap interval of the test AUC
// (metrics.BootstrapStratified: resampling within classes keeps the AUC defined), or NaNs.
func (c *Config) bootstrapAUC(labels []int, scores [][]float64, seed int64) (lo, hi float64) {
	if c.BootstrapReps == 0 {
		return math.NaN(), math.NaN()
	}
	subL := make([]int, len(labels))
	subS := make([][]float64, len(labels))
	stat := func(idx []int) float64 {
		for i, j := range idx {
			subL[i], subS[i] = labels[j], scores[j]
		}
		auc, err := metrics.AUC(subL[:len(idx)], subS[:len(idx)])
		if err != nil {
			return math.NaN()
		}
		return auc
	}
	lo, hi, err := metrics.BootstrapStratified(labels, stat, c.BootstrapReps, 0.95, seed)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}

// bootstrapMultiLabelAUC returns the 95% percentile-bootstrap interval of the macro AUC of a
// multi-label test set, resampling images; each replicate averages the labels it can score
// (a rare finding may have no positive in a resample), or NaNs.
func (c *Config) bootstrapMultiLabelAUC(targets [][]int, scores [][]float64, seed int64) (lo, hi float64) {
	if c.BootstrapReps == 0 {
		return math.NaN(), math.NaN()
	}
	subT := make([][]int, len(targets))
	subS := make([][]float64, len(targets))
	stat := func(idx []int) float64 {
		for i, j := range idx {
			subT[i], subS[i] = targets[j], scores[j]
		}
		auc, _, err := metrics.MultiLabelAUC(subT[:len(idx)], subS[:len(idx)])
		if err != nil {
			return math.NaN()
		}
		return auc
	}
	lo, hi, err := metrics.Bootstrap(len(targets), stat, c.BootstrapReps, 0.95, seed)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}
