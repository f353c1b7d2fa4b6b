package eval

import (
	"errors"
	"fmt"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/ssl"
)

// KNNMonitor watches pretraining with a kNN classifier (KNNScores) fitted on the features
// of Train and scored by its AUC on Val: a label-based reading of representation quality
// that ssl.Pretrain logs beside the loss and the collapse measures (as an ssl.Monitor). The
// labels serve the watching only: nothing is selected by them. On multi-label splits it
// scores every label (KNNMultiLabelScores) and reports the macro AUC over the validation
// labels with both classes.
type KNNMonitor struct {
	Train, Val *data.Split
	Config     KNNConfig
}

// Name implements ssl.Monitor.
func (m KNNMonitor) Name() string { return "kNN val AUC" }

// Measure implements ssl.Monitor.
func (m KNNMonitor) Measure(features func(*data.Split) ([][]float32, error)) (float64, error) {
	if err := checkPair(m.Train, m.Val, m.Train.NumClasses); err != nil {
		return 0, fmt.Errorf("eval: kNN monitor: %w", err)
	}
	if m.Train.NumClasses != m.Val.NumClasses {
		return 0, errors.New("eval: kNN monitor: the training and validation splits have different classes")
	}
	train, err := features(m.Train)
	if err != nil {
		return 0, err
	}
	val, err := features(m.Val)
	if err != nil {
		return 0, err
	}
	score := KNNScores
	if m.Train.MultiLabel() {
		score = KNNMultiLabelScores
	}
	scores, err := score(train, m.Train.Labels, val, m.Train.NumClasses, m.Config)
	if err != nil {
		return 0, err
	}
	auc, err := splitAUC(m.Val, scores)
	if err != nil {
		return 0, fmt.Errorf("eval: kNN monitor: %w", err)
	}
	return auc, nil
}

var _ ssl.Monitor = KNNMonitor{}
