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

// Predict returns the class probabilities [N][C] of every image of split, in inference mode.
func (c *Classifier) Predict(split *data.Split) (probs [][]float32, err error) {
	defer trainutil.Recover("supervised: predict", &err)
	if split == nil || split.N == 0 {
		return nil, fmt.Errorf("supervised: predict: empty split")
	}
	if c.Encoder == nil {
		return nil, errors.New("supervised: the classifier reads features (it has no encoder): use PredictFeatures")
	}
	return models.Infer(c.backend, c.Store, split, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return graph.Softmax(logits(scope, c.Encoder, images, c.NumClasses), -1)
	})
}

// Evaluate predicts split and computes its metrics against the split's labels.
func (c *Classifier) Evaluate(split *data.Split) (metrics.Metrics, error) {
	probs, err := c.Predict(split)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return metrics.Compute(split.IntLabels(), metrics.FromFloat32(probs))
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
