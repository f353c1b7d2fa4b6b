package supervised

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/internal/trainutil"
)

// TrainLinear trains a linear classifier (a dense layer and softmax, under HeadScope) on
// feature vectors, with Train's loop: cfg's optimiser, schedule and remedy, and the epoch
// with the best AUC on the validation features kept. It is the learner of a linear probe (see
// package eval, which computes the features of a frozen encoder); cfg.Encoder, Augment
// and the fine-tuning fields are ignored. The returned Classifier has no Encoder: use
// PredictFeatures and LogitsFeatures.
func TrainLinear(trainFeats [][]float32, trainLabels []int32, valFeats [][]float32, valLabels []int32, numClasses int, cfg Config) (clf *Classifier, err error) {
	return trainLinear(trainFeats, trainLabels, valFeats, valLabels, numClasses, false, cfg)
}

// TrainLinearMultiLabel is TrainLinear for multi-label targets: labels are row-major
// N x numLabels 0/1 values (data.Split.Labels of a multi-label split), the head gives one
// logit per label trained with MultiLabelLoss (cfg's "weighted" or focal remedy weighing
// each label's positives), PredictFeatures returns sigmoids, and the epoch is selected by
// the validation macro AUC (see Train).
func TrainLinearMultiLabel(trainFeats [][]float32, trainLabels []int32, valFeats [][]float32, valLabels []int32, numLabels int, cfg Config) (clf *Classifier, err error) {
	return trainLinear(trainFeats, trainLabels, valFeats, valLabels, numLabels, true, cfg)
}

func trainLinear(trainFeats [][]float32, trainLabels []int32, valFeats [][]float32, valLabels []int32, numClasses int, multiLabel bool, cfg Config) (clf *Classifier, err error) {
	defer trainutil.Recover("supervised: train linear", &err)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkFeatures("training", trainFeats, trainLabels, numClasses, multiLabel); err != nil {
		return nil, err
	}
	if err := checkFeatures("validation", valFeats, valLabels, numClasses, multiLabel); err != nil {
		return nil, err
	}
	if len(valFeats[0]) != len(trainFeats[0]) {
		return nil, fmt.Errorf("supervised: train linear: %d validation features, %d training features", len(valFeats[0]), len(trainFeats[0]))
	}
	n := len(trainFeats)
	tgt := target{multiLabel: multiLabel, numClasses: numClasses, n: n, counts: make([]int, numClasses)}
	if multiLabel {
		for i, l := range trainLabels {
			tgt.counts[i%numClasses] += int(l)
		}
		if err := checkScorable(valLabels, numClasses, "validation features"); err != nil {
			return nil, err
		}
	} else {
		for _, l := range trainLabels {
			tgt.counts[l]++
		}
	}
	if err := cfg.Remedy.check(tgt); err != nil {
		return nil, err
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	clf = &Classifier{Store: store, NumClasses: numClasses, MultiLabel: multiLabel, backend: cfg.Backend}
	ds := &featureBatches{feats: trainFeats, labels: trainLabels, numClasses: numClasses, multiLabel: multiLabel,
		batch: min(cfg.BatchSize, n), seed: cfg.Seed, balanced: cfg.Remedy.Oversample}
	modelFn := func(scope *model.Scope, feats *graph.Node) *graph.Node {
		return head(scope, feats, numClasses)
	}
	predictVal := func() ([][]float32, error) { return clf.PredictFeatures(valFeats) }
	if err := fit(store, clf, modelFn, cfg, nil, ds, tgt, predictVal, valLabels); err != nil {
		return nil, err
	}
	return clf, nil
}

// checkFeatures checks that feats and labels describe the same non-empty set of equally
// long vectors with labels in [0, numClasses) (multi-label: numClasses 0/1 labels each).
func checkFeatures(what string, feats [][]float32, labels []int32, numClasses int, multiLabel bool) error {
	if len(feats) == 0 {
		return fmt.Errorf("supervised: train linear: no %s features", what)
	}
	if numClasses < 2 {
		return fmt.Errorf("supervised: train linear: need at least 2 classes, got %d", numClasses)
	}
	per := 1
	if multiLabel {
		per = numClasses
	}
	if len(labels) != len(feats)*per {
		return fmt.Errorf("supervised: train linear: %d %s features but %d labels, want %d per example", len(feats), what, len(labels), per)
	}
	for i, f := range feats {
		if len(f) != len(feats[0]) || len(f) == 0 {
			return fmt.Errorf("supervised: train linear: %s feature %d has %d values, feature 0 has %d", what, i, len(f), len(feats[0]))
		}
	}
	for i, l := range labels {
		switch {
		case multiLabel && l != 0 && l != 1:
			return fmt.Errorf("supervised: train linear: %s example %d label %d is %d, want 0 or 1", what, i/per, i%per, l)
		case !multiLabel && (l < 0 || int(l) >= numClasses):
			return fmt.Errorf("supervised: train linear: %s label %d of example %d not in [0, %d)", what, l, i, numClasses)
		}
	}
	return nil
}

// PredictFeatures returns the class probabilities [N][C] of a classifier on features
// (TrainLinear) for every feature vector; for a multi-label one (TrainLinearMultiLabel),
// each label's sigmoid [N][L].
func (c *Classifier) PredictFeatures(feats [][]float32) ([][]float32, error) {
	return c.applyToFeatures(feats, true)
}

// LogitsFeatures returns the logits [N][C] (before softmax) of a classifier on features.
// Energy scores need them: the softmax forgets the logits' common offset.
func (c *Classifier) LogitsFeatures(feats [][]float32) ([][]float32, error) {
	return c.applyToFeatures(feats, false)
}

func (c *Classifier) applyToFeatures(feats [][]float32, softmax bool) (out [][]float32, err error) {
	defer trainutil.Recover("supervised: predict features", &err)
	if c.Encoder != nil {
		return nil, errors.New("supervised: the classifier reads images (it has an encoder): use Predict")
	}
	if len(feats) == 0 {
		return nil, errors.New("supervised: predict features: no features")
	}
	exec, err := model.NewExec(c.backend, c.Store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		l := head(scope, x, c.NumClasses)
		if softmax {
			return probabilities(l, c.MultiLabel)
		}
		return l
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	res, err := exec.Call(feats)
	if err != nil {
		return nil, err
	}
	return rows(res[0])
}
