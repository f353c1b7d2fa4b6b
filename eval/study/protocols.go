package study

import (
	"fmt"
	"math"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
)

// splits returns the training split cut to the cell's imbalance ratio (the pretraining
// images) and its labelled subset (the cell's label fraction of it). Both depend only on
// the cell's imbalance, fraction and seed.
func (c *Config) splits(cell Cell) (imbalanced, labelled *data.Split, err error) {
	imbalanced = c.Dataset.Train
	if cell.Imbalance != 1 {
		if imbalanced, err = data.InduceImbalance(imbalanced, cell.Imbalance, cell.Seed); err != nil {
			return nil, nil, fmt.Errorf("study: %s: %w", cell.Key(), err)
		}
	}
	labelled = imbalanced
	if cell.Fraction != 1 {
		if labelled, err = data.LabelFraction(imbalanced, cell.Fraction, cell.Seed); err != nil {
			return nil, nil, fmt.Errorf("study: %s: %w", cell.Key(), err)
		}
	}
	return imbalanced, labelled, nil
}

// runCell trains and scores one cell. pretrained is the encoder store of the cell's
// pretraining (nil for the supervised arm and method "none").
func (c *Config) runCell(s *settings, cell Cell, pretrained *model.Store) (Result, error) {
	t0 := time.Now()
	ds := c.Dataset
	_, labelled, err := c.splits(cell)
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
		Train: labelled, Val: ds.Val, Test: ds.Test, NumClasses: ds.NumClasses, Seed: cell.Seed}, protocols)
	if err != nil {
		return Result{}, err
	}
	res := Result{Cell: cell, Label: cell.Label(), Fingerprint: c.fingerprint(s, cell), TrainN: labelled.N,
		TrainClassCounts: labelled.ClassCounts(), Selected: out.Selected,
		ValAUC: out.ValAUC, ValAUCs: out.ValAUCs, TrainLoss: out.TrainLoss,
		TestLabels: ds.Test.IntLabels(), TestScores: out.TestScores}
	m, err := metrics.Compute(res.TestLabels, res.TestScores)
	if err != nil {
		return Result{}, fmt.Errorf("study: %s: test metrics: %w", cell.Key(), err)
	}
	res.Metrics = m.Map()
	res.AUCLow, res.AUCHigh = c.bootstrapAUC(res.TestLabels, res.TestScores, cell.Seed)
	res.Seconds = time.Since(t0).Seconds()
	res.Finished = time.Now().UTC().Truncate(time.Second)
	return res, nil
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
