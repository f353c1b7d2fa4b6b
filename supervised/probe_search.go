package supervised

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
)

// ProbeGrid is the learning-rate × weight-decay grid LinearProbeSearch tries.
type ProbeGrid struct {
	LearningRates, WeightDecays []float64
}

// DefaultProbeGrid is a small grid around the usual linear-evaluation settings: Adam
// learning rates {1e-3, 1e-2, 1e-1} (the linear head on frozen features tolerates far larger
// steps than end-to-end training) and weight decays {0, 1e-4, 1e-3}: 9 probes, each cheap
// because the features are computed once.
func DefaultProbeGrid() ProbeGrid {
	return ProbeGrid{LearningRates: []float64{1e-3, 1e-2, 1e-1}, WeightDecays: []float64{0, 1e-4, 1e-3}}
}

// ProbeTrial is one point of the grid and how its probe did on the validation split.
type ProbeTrial struct {
	LearningRate, WeightDecay float64
	BestValAUC                float64
	BestEpoch                 int
}

// ProbeSearch is the result of LinearProbeSearch: the selected probe and every trial.
type ProbeSearch struct {
	Best *Classifier
	// LearningRate and WeightDecay of the selected probe.
	LearningRate, WeightDecay float64
	Trials                    []ProbeTrial
}

// LinearProbeSearch trains a linear probe (see LinearProbe) for every learning rate and
// weight decay of grid on the same frozen features, computed once per split, and keeps the
// one with the best validation AUC (the first in grid order on ties; each probe keeps its
// own best epoch). The test split is never looked at. An empty grid field takes cfg's value
// (or its default); the zero ProbeGrid thus trains the single probe cfg describes.
func LinearProbeSearch(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg Config, grid ProbeGrid) (res *ProbeSearch, err error) {
	defer trainutil.Recover("supervised: linear probe search", &err)
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	if err := checkSplits(trainSplit, valSplit, numClasses); err != nil {
		return nil, err
	}
	if pretrained == nil {
		return nil, fmt.Errorf("supervised: linear probe search needs a pretrained store")
	}
	lrs, wds := grid.LearningRates, grid.WeightDecays
	if len(lrs) == 0 {
		lrs = []float64{cfg.LearningRate}
	}
	if len(wds) == 0 {
		wds = []float64{cfg.WeightDecay}
	}
	for _, lr := range lrs {
		if !(lr > 0) || math.IsInf(lr, 0) {
			return nil, fmt.Errorf("supervised: linear probe search: learning rate %v, want > 0 and finite", lr)
		}
	}
	for _, wd := range wds {
		if !(wd >= 0) || math.IsInf(wd, 0) {
			return nil, fmt.Errorf("supervised: linear probe search: weight decay %v, want >= 0 and finite", wd)
		}
	}
	trainFeats, err := Features(cfg.Backend, pretrained, cfg.Encoder, trainSplit)
	if err != nil {
		return nil, err
	}
	valFeats, err := Features(cfg.Backend, pretrained, cfg.Encoder, valSplit)
	if err != nil {
		return nil, err
	}
	res = &ProbeSearch{}
	for _, lr := range lrs {
		for _, wd := range wds {
			c := cfg
			c.LearningRate, c.WeightDecay = lr, wd
			clf, err := probeOnFeatures(trainFeats, trainSplit.Labels, valFeats, valSplit.Labels, numClasses, pretrained, c)
			if err != nil {
				return nil, fmt.Errorf("supervised: linear probe lr %g wd %g: %w", lr, wd, err)
			}
			res.Trials = append(res.Trials, ProbeTrial{LearningRate: lr, WeightDecay: wd, BestValAUC: clf.BestValAUC, BestEpoch: clf.BestEpoch})
			if res.Best == nil || clf.BestValAUC > res.Best.BestValAUC {
				res.Best, res.LearningRate, res.WeightDecay = clf, lr, wd
			}
		}
	}
	return res, nil
}
