package supervised

import (
	"errors"
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// Predict returns the class probabilities [N][C] of every image of split, in inference mode:
// the softmax of the logits, or for a multi-label classifier each label's sigmoid [N][L].
func (c *Classifier) Predict(split *data.Split) (probs [][]float32, err error) {
	defer trainutil.Recover("supervised: predict", &err)
	if split == nil || split.N == 0 {
		return nil, fmt.Errorf("supervised: predict: empty split")
	}
	if c.Encoder == nil {
		return nil, errors.New("supervised: the classifier reads features (it has no encoder): use PredictFeatures")
	}
	return models.Infer(c.backend, c.Store, split, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return probabilities(logits(scope, c.Encoder, images, c.NumClasses), c.MultiLabel)
	})
}

// Evaluate predicts split and computes its metrics against the split's labels
// (metrics.Compute, or metrics.ComputeMultiLabel for a multi-label classifier).
func (c *Classifier) Evaluate(split *data.Split) (metrics.Metrics, error) {
	if err := c.checkSplit(split); err != nil {
		return metrics.Metrics{}, err
	}
	probs, err := c.Predict(split)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return Score(split, metrics.FromFloat32(probs))
}

// checkSplit reports a split whose labels the classifier cannot be scored against.
func (c *Classifier) checkSplit(split *data.Split) error {
	if split == nil || split.N == 0 {
		return errors.New("supervised: evaluate: empty split")
	}
	if err := split.CheckLabels(); err != nil {
		return fmt.Errorf("supervised: evaluate: %w", err)
	}
	if split.MultiLabel() != c.MultiLabel || (c.MultiLabel && split.LabelDim != c.NumClasses) {
		return fmt.Errorf("supervised: evaluate: split %q has %d labels per image (multi-label %v), the classifier predicts %d (multi-label %v)",
			split.Name, split.LabelDim, split.MultiLabel(), c.NumClasses, c.MultiLabel)
	}
	return nil
}

// Score computes the metrics of scores [N][C] (class probabilities, or per-label
// probabilities for a multi-label split) against split's labels: metrics.Compute with
// MedMNIST's conventions, or metrics.ComputeMultiLabel for a multi-label split. Every
// protocol scores through it, so single- and multi-label results share one Metrics type
// and one Map of names.
func Score(split *data.Split, scores [][]float64) (metrics.Metrics, error) {
	if split == nil || split.N == 0 {
		return metrics.Metrics{}, errors.New("supervised: score: empty split")
	}
	if split.MultiLabel() {
		return metrics.ComputeMultiLabel(split.IntLabelRows(), scores)
	}
	return metrics.Compute(split.IntLabels(), scores)
}

func rows(t *tensors.Tensor) ([][]float32, error) {
	defer t.FinalizeAll()
	dims := t.Shape().Dimensions
	flat, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, dims[0])
	for i := range out {
		out[i] = flat[i*dims[1] : (i+1)*dims[1]]
	}
	return out, nil
}

// Logits returns the classifier's logits [N][K] (the head's output before softmax) of
// every image of split, in inference mode; Predict is their softmax.
func (c *Classifier) Logits(split *data.Split) (out [][]float32, err error) {
	defer trainutil.Recover("supervised: logits", &err)
	if split == nil || split.N == 0 {
		return nil, errors.New("supervised: logits: empty split")
	}
	if c.Encoder == nil {
		return nil, errors.New("supervised: the classifier reads features (it has no encoder): use LogitsFeatures")
	}
	return models.Infer(c.backend, c.Store, split, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return logits(scope, c.Encoder, images, c.NumClasses)
	})
}
