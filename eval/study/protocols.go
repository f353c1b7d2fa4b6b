package study

import (
	"fmt"
	"math"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/supervised"
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

// randomEncoder returns an empty store seeded for the cell: the encoder's variables are
// created, at random, the first time features are computed with it (method "none").
func randomEncoder(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}

// runCell trains and scores one cell. pretrained is the encoder store of the cell's
// pretraining (nil for the supervised arm and method "none").
func (c *Config) runCell(cell Cell, pretrained *model.Store) (Result, error) {
	t0 := time.Now()
	ds := c.Dataset
	_, labelled, err := c.splits(cell)
	if err != nil {
		return Result{}, err
	}
	if cell.Arm != ArmSupervised && pretrained == nil {
		pretrained = randomEncoder(cell.Seed)
	}
	res := Result{Cell: cell, Label: cell.Label(), Fingerprint: c.fingerprint(cell), TrainN: labelled.N,
		TrainClassCounts: labelled.ClassCounts(), Selected: map[string]float64{}}
	base := c.Train
	base.Backend, base.Encoder, base.Seed = c.Backend, c.Encoder, cell.Seed
	var scores [][]float64
	switch cell.Arm {
	case ArmSupervised, ArmFineTune:
		cfg := base
		if cell.Arm == ArmFineTune {
			cfg.Epochs = c.FineTune.Epochs
			cfg.Pretrained = pretrained
			cfg.EncoderLRMultiplier = c.FineTune.EncoderLRMultiplier
			cfg.TrainableFrom = c.FineTune.TrainableFrom
		}
		clf, err := supervised.Train(labelled, ds.Val, ds.NumClasses, cfg)
		if err != nil {
			return Result{}, err
		}
		if scores, err = predict(clf, ds.Test); err != nil {
			return Result{}, err
		}
		res.ValAUC, res.ValAUCs, res.TrainLoss = clf.BestValAUC, clf.ValAUC, clf.TrainLoss
		res.Selected["best_epoch"], res.Selected["epochs"] = float64(clf.BestEpoch), float64(len(clf.ValAUC))
	case ArmLinear:
		cfg := base
		cfg.Epochs, cfg.Augment = c.Probe.Epochs, nil
		search, err := supervised.LinearProbeSearch(labelled, ds.Val, ds.NumClasses, pretrained, cfg, c.Probe.Grid)
		if err != nil {
			return Result{}, err
		}
		clf := search.Best
		if scores, err = predict(clf, ds.Test); err != nil {
			return Result{}, err
		}
		res.ValAUC, res.ValAUCs, res.TrainLoss = clf.BestValAUC, clf.ValAUC, clf.TrainLoss
		res.Selected["best_epoch"], res.Selected["epochs"] = float64(clf.BestEpoch), float64(len(clf.ValAUC))
		res.Selected["lr"], res.Selected["wd"] = search.LearningRate, search.WeightDecay
	case ArmKNN:
		knn, err := supervised.KNN(c.Backend, pretrained, c.Encoder, labelled, ds.Val, ds.NumClasses, c.KNN.KNNConfig, c.KNN.Ks...)
		if err != nil {
			return Result{}, err
		}
		if scores, err = knn.Predict(ds.Test); err != nil {
			return Result{}, err
		}
		res.ValAUC = knn.ValAUC
		res.Selected["k"], res.Selected["temperature"] = float64(knn.Config.K), knn.Config.Temperature
	default:
		return Result{}, fmt.Errorf("study: unknown arm %q", cell.Arm)
	}
	res.TestLabels = make([]int, ds.Test.N)
	for i := range res.TestLabels {
		res.TestLabels[i] = ds.Test.Label(i)
	}
	res.TestScores = scores
	m, err := eval.Compute(res.TestLabels, scores)
	if err != nil {
		return Result{}, fmt.Errorf("study: %s: test metrics: %w", cell.Key(), err)
	}
	res.Metrics = m.Map()
	res.AUCLow, res.AUCHigh = c.bootstrapAUC(res.TestLabels, scores, cell.Seed)
	res.Seconds = time.Since(t0).Seconds()
	res.Finished = time.Now().UTC().Truncate(time.Second)
	return res, nil
}

func predict(clf *supervised.Classifier, split *data.Split) ([][]float64, error) {
	probs, err := clf.Predict(split)
	if err != nil {
		return nil, err
	}
	out := make([][]float64, len(probs))
	for i, row := range probs {
		out[i] = make([]float64, len(row))
		for j, v := range row {
			out[i][j] = float64(v)
		}
	}
	return out, nil
}

// bootstrapAUC returns the 95% stratified percentile-bootstrap interval of the test AUC
// (eval.BootstrapStratified: resampling within classes keeps the AUC defined), or NaNs.
func (c *Config) bootstrapAUC(labels []int, scores [][]float64, seed int64) (lo, hi float64) {
	if c.BootstrapReps < 0 {
		return math.NaN(), math.NaN()
	}
	subL := make([]int, len(labels))
	subS := make([][]float64, len(labels))
	stat := func(idx []int) float64 {
		for i, j := range idx {
			subL[i], subS[i] = labels[j], scores[j]
		}
		auc, err := eval.AUC(subL[:len(idx)], subS[:len(idx)])
		if err != nil {
			return math.NaN()
		}
		return auc
	}
	lo, hi, err := eval.BootstrapStratified(labels, stat, c.BootstrapReps, 0.95, seed)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}
