package segment

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// Arm is one way of training a segmentation network (see the package documentation).
type Arm string

// The arms.
const (
	ArmSupervised Arm = "supervised"
	ArmFineTune   Arm = "finetune"
	ArmFrozen     Arm = "frozen"
)

// Arms lists the arms in the order studies run and report them.
func Arms() []Arm { return []Arm{ArmSupervised, ArmFineTune, ArmFrozen} }

// ParseArm returns the arm named s.
func ParseArm(s string) (Arm, error) {
	a := Arm(strings.TrimSpace(s))
	if !slices.Contains(Arms(), a) {
		return "", fmt.Errorf("segment: unknown arm %q (known: supervised, finetune, frozen)", s)
	}
	return a, nil
}

// UsesEncoder tells whether the arm starts from a pretrained encoder.
func (a Arm) UsesEncoder() bool { return a != ArmSupervised }

// Config configures Train. Start from DefaultConfig and change fields: every field means
// what it says, zero included.
type Config struct {
	Backend compute.Backend // required
	// Encoder is the architecture (a models.DenseEncoder: a ResNet or a ViT).
	Encoder models.Encoder
	// Augment moves training images and masks together (augment.SegmentationDefault);
	// nil trains on the slices as they are.
	Augment augment.JointTransform
	// Epochs over the training slices, ⌊N/BatchSize⌋ full batches each (at least one);
	// Steps, when > 0, sets the number of optimisation steps instead.
	Epochs, Steps int
	// MinEpochs, when > 0, lengthens a run of Steps steps to at least MinEpochs epochs. A
	// step budget sized for the smallest label fraction is a fraction of an epoch at the
	// largest, where it stops the arm trained from scratch while it is still learning and so
	// favours pretrained starts (measured on the hippocampus, 56 labelled volumes, 3 seeds:
	// at 150 steps the supervised U-Net's Dice was 0.73 against 0.77-0.78 fine-tuned, at 450
	// steps all three were 0.84). See TrainingSteps.
	MinEpochs int
	// BatchSize (> 0; smaller when there are fewer slices).
	BatchSize int
	// Optimizer is the update rule, schedule and weight decay over the run's steps.
	Optimizer optim.Config
	// DiceWeight and CEWeight weigh the two terms of DiceCELoss (>= 0, not both 0).
	DiceWeight, CEWeight float64
	// Pretrained, when set, initialises the encoder from the variables under
	// models.EncoderScope of this store. An empty store (eval.RandomEncoder(seed)) first
	// gets a random encoder from its seed: the frozen arm then measures what random
	// features support.
	Pretrained *model.Store
	// FreezeEncoder keeps the Pretrained encoder fixed, in inference mode, and trains the
	// decoder only (ArmFrozen). It needs Pretrained.
	FreezeEncoder bool
	// EncoderLRMultiplier scales the encoder's learning rate relative to the decoder's when
	// fine-tuning (1: the same).
	EncoderLRMultiplier float64
	// ValEvery is the number of steps between validations (0: once per epoch); the last
	// step is always validated.
	ValEvery int
	// Seed fixes initialisation, augmentation and shuffling.
	Seed int64
	// Progress shows GoMLX's progress bar on stdout.
	Progress bool
}

// Defaults of DefaultConfig.
const (
	DefaultEpochs    = 30
	DefaultBatchSize = 32
)

// DefaultConfig trains with the MedMNIST recipe's optimiser (optim.MedMNIST: Adam 1e-3,
// ×0.1 at 50% and 75% of the run) for DefaultEpochs epochs of batches of
// DefaultBatchSize slices, Dice and cross-entropy weighed equally, the
// augment.SegmentationDefault augmentations, the whole network at one learning rate and a
// validation every epoch. Set Backend and Encoder.
func DefaultConfig() Config {
	return Config{Augment: augment.SegmentationDefault(), Epochs: DefaultEpochs, BatchSize: DefaultBatchSize,
		Optimizer: optim.MedMNIST(), DiceWeight: 1, CEWeight: 1, EncoderLRMultiplier: 1}
}

// TrainingSteps returns the number of optimisation steps and the steps per epoch of a run
// over n training slices: Steps when set, else Epochs epochs, and at least MinEpochs epochs.
func (c Config) TrainingSteps(n int) (steps, perEpoch int) {
	perEpoch = max(1, n/max(1, min(c.BatchSize, n)))
	steps = c.Steps
	if steps == 0 {
		steps = c.Epochs * perEpoch
	}
	return max(steps, c.MinEpochs*perEpoch), perEpoch
}

// Validate reports the first setting Train cannot use, naming it.
func (c Config) Validate() error {
	switch {
	case c.Backend == nil:
		return errors.New("segment: Config needs a Backend (medssl.Backend())")
	case c.Encoder == nil:
		return errors.New("segment: Config needs an Encoder")
	case c.Steps < 0 || c.Epochs < 0 || c.MinEpochs < 0 || (c.Steps == 0 && c.Epochs == 0):
		return fmt.Errorf("segment: Epochs %d, Steps %d, MinEpochs %d: want none negative, and Epochs > 0 or Steps > 0 (start from segment.DefaultConfig())", c.Epochs, c.Steps, c.MinEpochs)
	case c.BatchSize <= 0:
		return fmt.Errorf("segment: BatchSize %d, want > 0 (start from segment.DefaultConfig())", c.BatchSize)
	case !(c.DiceWeight >= 0 && c.CEWeight >= 0) || c.DiceWeight+c.CEWeight == 0:
		return fmt.Errorf("segment: DiceWeight %v and CEWeight %v: want >= 0, not both 0", c.DiceWeight, c.CEWeight)
	case !(c.EncoderLRMultiplier >= 0):
		return fmt.Errorf("segment: EncoderLRMultiplier %v, want >= 0", c.EncoderLRMultiplier)
	case c.FreezeEncoder && c.Pretrained == nil:
		return errors.New("segment: FreezeEncoder needs a Pretrained encoder")
	case c.ValEvery < 0:
		return fmt.Errorf("segment: ValEvery %d, want >= 0", c.ValEvery)
	}
	if _, err := models.DenseOf(c.Encoder); err != nil {
		return fmt.Errorf("segment: %w", err)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return fmt.Errorf("segment: %w (start from segment.DefaultConfig())", err)
	}
	return nil
}
