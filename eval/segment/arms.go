package segment

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/models"
)

// ArmInput is what one run of an arm reads: one cell of a study.
type ArmInput struct {
	Backend compute.Backend
	Encoder models.Encoder
	// Pretrained holds the encoder's weights under models.EncoderScope (ssl.Pretrain's
	// Store, ssl.LoadEncoder's); required by ArmFineTune and ArmFrozen, ignored by
	// ArmSupervised.
	Pretrained *model.Store
	// Train holds the cell's labelled training slices (its fraction of the training
	// volumes), Val selects the model, Test is only scored.
	Train, Val, Test *seg.Slices
	// Seed fixes initialisation, augmentation and shuffling.
	Seed int64
}

// Outcome is what one run of an arm produced.
type Outcome struct {
	// Test is the test evaluation: summary, per-volume scores, predicted slices.
	Test *Evaluation
	// Metrics is Test.Summary.Map(): "dice" (the primary metric), "iou", "hd95" and their
	// per-class forms.
	Metrics map[string]float64
	// ValDice is the selected model's validation Dice; ValSteps, ValDices and TrainLoss are
	// the run's curves at each validation.
	ValDice   float64
	ValSteps  []int
	ValDices  []float64
	TrainLoss []float64
	// Selected records the selection: "best_step", "steps", "lr".
	Selected map[string]float64
}

// RunArm trains arm on in with cfg as the template (its Backend, Encoder, Seed, Pretrained
// and FreezeEncoder are set from the arm and in), selects on in.Val by Dice only and scores
// in.Test.
func RunArm(arm Arm, in ArmInput, cfg Config) (*Outcome, error) {
	if in.Backend == nil || in.Encoder == nil {
		return nil, errors.New("segment: RunArm needs a Backend and an Encoder")
	}
	if in.Test == nil || len(in.Test.Stacks) == 0 {
		return nil, errors.New("segment: RunArm: no test volumes")
	}
	cfg.Backend, cfg.Encoder, cfg.Seed = in.Backend, in.Encoder, in.Seed
	switch arm {
	case ArmSupervised:
		cfg.Pretrained, cfg.FreezeEncoder, cfg.EncoderLRMultiplier = nil, false, 1
	case ArmFineTune, ArmFrozen:
		if in.Pretrained == nil {
			return nil, fmt.Errorf("segment: arm %s needs a pretrained encoder store", arm)
		}
		cfg.Pretrained, cfg.FreezeEncoder = in.Pretrained, arm == ArmFrozen
	default:
		return nil, fmt.Errorf("segment: unknown arm %q", arm)
	}
	m, err := Train(in.Train, in.Val, cfg)
	if err != nil {
		return nil, err
	}
	ev, err := m.Evaluate(in.Test)
	if err != nil {
		return nil, err
	}
	return &Outcome{Test: ev, Metrics: ev.Summary.Map(), ValDice: m.BestValDice, ValSteps: m.ValSteps,
		ValDices: m.ValDice, TrainLoss: m.TrainLoss,
		Selected: map[string]float64{"best_step": float64(m.BestStep), "steps": float64(m.Steps), "lr": cfg.Optimizer.LearningRate}}, nil
}
