package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// Probe is a linear probe: a linear classifier (supervised.TrainLinear) on the frozen
// features of a pretrained encoder. It classifies images by computing their features with
// the encoder (inference mode: batch norm uses its running averages) and applying Head.
type Probe struct {
	// Head is the linear classifier on features, with its training history (best epoch,
	// validation AUC per epoch).
	Head *supervised.Classifier
	// Pretrained holds the frozen encoder's variables under models.EncoderScope; Encoder is
	// its architecture.
	Pretrained *model.Store
	Encoder    models.Encoder
}

// Predict returns the class probabilities [N][C] of every image of split.
func (p *Probe) Predict(split *data.Split) ([][]float32, error) {
	feats, err := supervised.Features(p.Head.Backend(), p.Pretrained, p.Encoder, split)
	if err != nil {
		return nil, fmt.Errorf("eval: probe: %w", err)
	}
	return p.Head.PredictFeatures(feats)
}

// Logits returns the head's logits [N][C] of every image of split.
func (p *Probe) Logits(split *data.Split) ([][]float32, error) {
	feats, err := supervised.Features(p.Head.Backend(), p.Pretrained, p.Encoder, split)
	if err != nil {
		return nil, fmt.Errorf("eval: probe: %w", err)
	}
	return p.Head.LogitsFeatures(feats)
}

// Evaluate predicts split and computes its metrics against the split's labels.
func (p *Probe) Evaluate(split *data.Split) (metrics.Metrics, error) {
	probs, err := p.Predict(split)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return metrics.Compute(split.IntLabels(), metrics.FromFloat32(probs))
}

// LinearProbe trains a linear probe on the frozen features of the encoder cfg.Encoder whose
// weights are under models.EncoderScope in pretrained. The encoder runs once per split in
// inference mode, so its weights and batch-norm statistics stay frozen; only the linear head
// trains, with cfg's optimiser settings and best-validation-AUC model selection (cfg.Augment
// and the fine-tuning fields are ignored: the features are fixed).
func LinearProbe(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg supervised.Config) (*Probe, error) {
	res, err := LinearProbeSearch(trainSplit, valSplit, numClasses, pretrained, cfg, ProbeGrid{})
	if err != nil {
		return nil, err
	}
	return res.Best, nil
}

// ProbeGrid is the learning-rate × weight-decay grid LinearProbeSearch tries.
type ProbeGrid struct {
	LearningRates, WeightDecays []float64
}

// DefaultProbeGrid is a small grid around the usual linear-evaluation settings: Adam
// learning rates {1e-3, 1e-2, 1e-1} (a linear head on frozen features tolerates far larger
// steps than end-to-end training) and weight decays {0, 1e-4, 1e-3}: 9 probes, each cheap
// because the features are computed once.
func DefaultProbeGrid() ProbeGrid {
	return ProbeGrid{LearningRates: []float64{1e-3, 1e-2, 1e-1}, WeightDecays: []float64{0, 1e-4, 1e-3}}
}

// DefaultProbeEpochs is the number of epochs of each linear probe: the features are
// computed once, so probes are cheap.
const DefaultProbeEpochs = 100

// DefaultProbeConfig is the training recipe of each probe: supervised.DefaultConfig (Adam,
// batch 128, learning rate ×0.1 at 50% and 75%, best validation AUC kept) for
// DefaultProbeEpochs epochs; the grid sets the learning rate and weight decay.
func DefaultProbeConfig() supervised.Config {
	c := supervised.DefaultConfig()
	c.Epochs = DefaultProbeEpochs
	return c
}

// ProbeTrial is one point of the grid and how its probe did on the validation split.
type ProbeTrial struct {
	LearningRate, WeightDecay float64
	BestValAUC                float64
	BestEpoch                 int
}

// ProbeSearch is the result of LinearProbeSearch: the selected probe and every trial.
type ProbeSearch struct {
	Best *Probe
	// LearningRate and WeightDecay of the selected probe.
	LearningRate, WeightDecay float64
	Trials                    []ProbeTrial
}

// LinearProbeSearch trains a linear probe (see LinearProbe) for every learning rate and
// weight decay of grid on the same frozen features, computed once per split, and keeps the
// one with the best validation AUC (the first in grid order on ties; each probe keeps its
// own best epoch). The test split is never looked at. An empty grid field takes cfg's
// value; the zero ProbeGrid thus trains the single probe cfg describes.
func LinearProbeSearch(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg supervised.Config, grid ProbeGrid) (*ProbeSearch, error) {
	if pretrained == nil || cfg.Encoder == nil {
		return nil, errors.New("eval: linear probe needs a pretrained store and its encoder (cfg.Encoder)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	if err := checkLabelled("training", trainSplit); err != nil {
		return nil, err
	}
	if err := checkLabelled("validation", valSplit); err != nil {
		return nil, err
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
			return nil, fmt.Errorf("eval: linear probe search: learning rate %v, want > 0 and finite", lr)
		}
	}
	for _, wd := range wds {
		if !(wd >= 0) || math.IsInf(wd, 0) {
			return nil, fmt.Errorf("eval: linear probe search: weight decay %v, want >= 0 and finite", wd)
		}
	}
	trainFeats, err := supervised.Features(cfg.Backend, pretrained, cfg.Encoder, trainSplit)
	if err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	valFeats, err := supervised.Features(cfg.Backend, pretrained, cfg.Encoder, valSplit)
	if err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	res := &ProbeSearch{}
	for _, lr := range lrs {
		for _, wd := range wds {
			c := cfg
			c.LearningRate, c.WeightDecay = lr, wd
			head, err := supervised.TrainLinear(trainFeats, trainSplit.Labels, valFeats, valSplit.Labels, numClasses, c)
			if err != nil {
				return nil, fmt.Errorf("eval: linear probe lr %g wd %g: %w", lr, wd, err)
			}
			res.Trials = append(res.Trials, ProbeTrial{LearningRate: lr, WeightDecay: wd, BestValAUC: head.BestValAUC, BestEpoch: head.BestEpoch})
			if res.Best == nil || head.BestValAUC > res.Best.Head.BestValAUC {
				res.Best = &Probe{Head: head, Pretrained: pretrained, Encoder: cfg.Encoder}
				res.LearningRate, res.WeightDecay = lr, wd
			}
		}
	}
	return res, nil
}

// checkLabelled reports a missing, empty or multi-label split, naming it.
func checkLabelled(what string, s *data.Split) error {
	if s == nil || s.N == 0 {
		return fmt.Errorf("eval: empty %s split", what)
	}
	if s.LabelDim != 1 {
		return fmt.Errorf("eval: %s split %q is multi-label (%d labels per image); this protocol needs one class per image", what, s.Name, s.LabelDim)
	}
	return nil
}
