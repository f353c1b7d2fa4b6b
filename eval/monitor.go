package eval

import (
	"errors"
	"fmt"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/ssl"
)

// KNNMonitor watches pretraining with a kNN classifier (KNNScores) fitted on the features
// of Train and scored by its AUC on Val: a label-based reading of representation quality
// that ssl.Pretrain logs beside the loss and the collapse measures (as an ssl.Monitor). The
// labels serve the watching only: nothing is selected by them.
type KNNMonitor struct {
	Train, Val *data.Split
	Config     KNNConfig
}

// Name implements ssl.Monitor.
func (m KNNMonitor) Name() string { return "kNN val AUC" }

// Measure implements ssl.Monitor.
func (m KNNMonitor) Measure(features func(*data.Split) ([][]float32, error)) (float64, error) {
	if err := checkLabelled("training", m.Train); err != nil {
		return 0, err
	}
	if err := checkLabelled("validation", m.Val); err != nil {
		return 0, err
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
	scores, err := KNNScores(train, m.Train.Labels, val, m.Train.NumClasses, m.Config)
	if err != nil {
		return 0, err
	}
	auc, err := metrics.AUC(m.Val.IntLabels(), scores)
	if err != nil {
		return 0, fmt.Errorf("eval: kNN monitor: %w", err)
	}
	return auc, nil
}

var _ ssl.Monitor = KNNMonitor{}
