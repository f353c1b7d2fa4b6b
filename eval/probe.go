package eval

import (
	"errors"
	"fmt"

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

// Predict returns the class probabilities [N][C] of every image of split (per-label
// sigmoids [N][L] for a multi-label probe).
func (p *Probe) Predict(split *data.Split) ([][]float32, error) {
	feats, err := models.Features(p.Head.Backend(), p.Pretrained, p.Encoder, split)
	if err != nil {
		return nil, fmt.Errorf("eval: probe: %w", err)
	}
	return p.Head.PredictFeatures(feats)
}

// Logits returns the head's logits [N][C] of every image of split.
func (p *Probe) Logits(split *data.Split) ([][]float32, error) {
	feats, err := models.Features(p.Head.Backend(), p.Pretrained, p.Encoder, split)
	if err != nil {
		return nil, fmt.Errorf("eval: probe: %w", err)
	}
	return p.Head.LogitsFeatures(feats)
}

// Evaluate predicts split and computes its metrics against the split's labels
// (supervised.Score: multi-label metrics for a multi-label split).
func (p *Probe) Evaluate(split *data.Split) (metrics.Metrics, error) {
	if err := checkLabelled("evaluation", split); err != nil {
		return metrics.Metrics{}, err
	}
	probs, err := p.Predict(split)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return supervised.Score(split, metrics.FromFloat32(probs))
}

// LinearProbe trains a linear probe on the frozen features of the encoder cfg.Encoder whose
// weights are under models.EncoderScope in pretrained. The encoder runs once per split in
// inference mode, so its weights and batch-norm statistics stay frozen; only the linear head
// trains, with cfg's optimiser, schedule and remedy and best-validation-AUC model selection
// (cfg.Augment and the fine-tuning fields are ignored: the features are fixed). On a
// multi-label split (numClasses = its number of labels) the head is
// supervised.TrainLinearMultiLabel's: one sigmoid per label, selected on validation macro
// AUC.
func LinearProbe(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg supervised.Config) (*Probe, error) {
	res, err := LinearProbeSearch(trainSplit, valSplit, numClasses, pretrained, cfg, Search{})
	if err != nil {
		return nil, err
	}
	return res.Best, nil
}

// DefaultProbeEpochs is the number of epochs of each linear probe: the features are
// computed once, so probes are cheap.
const DefaultProbeEpochs = 100

// DefaultProbeConfig is the training recipe of a linear probe: supervised.DefaultConfig
// (Adam, batch 128, learning rate ×0.1 at 50% and 75%, best validation AUC kept) for
// DefaultProbeEpochs epochs at learning rate 1e-2 (a linear head on frozen features takes
// larger steps than end-to-end training: DefaultSearch then tries 1e-3, 1e-2 and 1e-1).
func DefaultProbeConfig() supervised.Config {
	c := supervised.DefaultConfig()
	c.Epochs, c.Optimizer.LearningRate = DefaultProbeEpochs, 1e-2
	return c
}

// ProbeSearch is the result of LinearProbeSearch: the selected probe and every trial.
type ProbeSearch struct {
	Best *Probe
	// LearningRate and WeightDecay of the selected probe.
	LearningRate, WeightDecay float64
	Trials                    []Trial
}

// LinearProbeSearch trains a linear probe (see LinearProbe) at every point of s on the same
// frozen features, computed once per split, and keeps the one with the best validation AUC
// (see Search). The zero Search trains the single probe cfg describes.
func LinearProbeSearch(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg supervised.Config, s Search) (*ProbeSearch, error) {
	if pretrained == nil || cfg.Encoder == nil {
		return nil, errors.New("eval: linear probe needs a pretrained store and its encoder (cfg.Encoder)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := checkPair(trainSplit, valSplit, numClasses); err != nil {
		return nil, err
	}
	trainFeats, err := models.Features(cfg.Backend, pretrained, cfg.Encoder, trainSplit)
	if err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	valFeats, err := models.Features(cfg.Backend, pretrained, cfg.Encoder, valSplit)
	if err != nil {
		return nil, fmt.Errorf("eval: linear probe: %w", err)
	}
	res := &ProbeSearch{}
	for _, c := range s.points(cfg) {
		lr, wd := c.Optimizer.LearningRate, c.Optimizer.WeightDecay
		learn := supervised.TrainLinear
		if trainSplit.MultiLabel() {
			learn = supervised.TrainLinearMultiLabel
		}
		head, err := learn(trainFeats, trainSplit.Labels, valFeats, valSplit.Labels, numClasses, c)
		if err != nil {
			return nil, fmt.Errorf("eval: linear probe lr %g wd %g: %w", lr, wd, err)
		}
		res.Trials = append(res.Trials, Trial{LearningRate: lr, WeightDecay: wd, BestValAUC: head.BestValAUC, BestEpoch: head.BestEpoch})
		if res.Best == nil || head.BestValAUC > res.Best.Head.BestValAUC {
			res.Best = &Probe{Head: head, Pretrained: pretrained, Encoder: cfg.Encoder}
			res.LearningRate, res.WeightDecay = lr, wd
		}
	}
	return res, nil
}

// checkLabelled reports a missing or empty split, or one with unusable labels, naming it.
func checkLabelled(what string, s *data.Split) error {
	if s == nil || s.N == 0 {
		return fmt.Errorf("eval: empty %s split", what)
	}
	if err := s.CheckLabels(); err != nil {
		return fmt.Errorf("eval: %s split: %w", what, err)
	}
	return nil
}

// checkPair checks a training and a validation split against each other and numClasses: both single-label, or both multi-label with
// numClasses labels.
func checkPair(trainSplit, valSplit *data.Split, numClasses int) error {
	if err := checkLabelled("training", trainSplit); err != nil {
		return err
	}
	if err := checkLabelled("validation", valSplit); err != nil {
		return err
	}
	if trainSplit.MultiLabel() != valSplit.MultiLabel() || trainSplit.LabelDim != valSplit.LabelDim {
		return fmt.Errorf("eval: training split %q has %d labels per image, validation split %q %d", trainSplit.Name, trainSplit.LabelDim, valSplit.Name, valSplit.LabelDim)
	}
	if trainSplit.MultiLabel() && trainSplit.LabelDim != numClasses {
		return fmt.Errorf("eval: split %q has %d labels per image, numClasses is %d", trainSplit.Name, trainSplit.LabelDim, numClasses)
	}
	return nil
}

// splitAUC is the AUC that selects models on a split: MedMNIST's AUC, or the macro AUC
// over the labels with both classes for a multi-label split (metrics.MultiLabelAUC).
func splitAUC(split *data.Split, scores [][]float64) (float64, error) {
	if split.MultiLabel() {
		auc, _, err := metrics.MultiLabelAUC(split.IntLabelRows(), scores)
		return auc, err
	}
	return metrics.AUC(split.IntLabels(), scores)
}
