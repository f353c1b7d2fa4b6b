package supervised

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// Config configures Train, TrainLinear and TrainMIL. Start from DefaultConfig (or
// DefaultMILConfig) and change fields: every field means what it says, zero included
// (weight decay 0, no milestones, an encoder multiplier 0 that freezes the encoder).
type Config struct {
	Backend compute.Backend // required
	// Encoder is the architecture trained (Train, TrainMIL) or whose features a linear
	// classifier reads (ignored by TrainLinear).
	Encoder models.Encoder
	// Augment is applied to training batches only; nil trains on the images as they are.
	// Use the same transform in both arms of a comparison.
	Augment augment.Transform
	// Epochs (> 0) and BatchSize (> 0; smaller when the split is smaller; bags for TrainMIL).
	Epochs, BatchSize int
	// MinSteps, when > 0, adds epochs to a run until it has at least MinSteps optimisation
	// steps (see RunEpochs). With few labels an epoch is one or two steps, and a fixed number
	// of epochs then stops a network trained from scratch long before a pretrained one needs
	// to stop: a budget that decides the comparison by itself. Zero (omitted from the
	// settings fingerprint) keeps Epochs as they are. A stretched run is validated about
	// Epochs times, not after each of its many short epochs (see ValidationEvery).
	MinSteps int `json:",omitempty"`
	// Optimizer is the update rule, learning-rate schedule and weight decay, laid over the
	// run's Epochs·⌈N/BatchSize⌉ steps.
	Optimizer optim.Config
	// Remedy counters class imbalance (class-weighted or focal loss, class-balanced
	// resampling); the zero Remedy is plain cross-entropy.
	Remedy Remedy
	// Pretrained, when set, initialises the encoder from the variables under
	// models.EncoderScope of this store (fine-tuning) instead of at random.
	Pretrained *model.Store
	// EncoderLRMultiplier scales the encoder's learning rate relative to the head's when
	// fine-tuning (1: the same; 0.1 is a common gentler choice). 0 freezes the whole
	// encoder: its weights and its batch-norm running averages keep their pretrained
	// values (batch norm still normalises each training batch by its own statistics).
	EncoderLRMultiplier float64
	// TrainableFrom, when fine-tuning, trains only the encoder from this scope on, e.g.
	// "encoder/stage4" (ResNet scopes: encoder/stem, encoder/stage1 … encoder/stage4): every
	// encoder variable the encoder creates before the first variable under this scope keeps
	// its pretrained value, batch-norm running averages included. Empty fine-tunes the whole
	// encoder. See FrozenVariables.
	TrainableFrom string
	// Seed fixes initialisation, augmentation and shuffling.
	Seed int64
	// Progress shows GoMLX's progress bar on stdout.
	Progress bool
}

// The MedMNIST protocol (Yang et al., MedMNIST v2, 2023), DefaultConfig's values.
const (
	DefaultEpochs    = 100
	DefaultBatchSize = 128
)

// DefaultConfig is the MedMNIST protocol: Adam, learning rate 1e-3, no weight decay, batch
// 128, 100 epochs, learning rate ×0.1 at 50% and 75% of the run (optim.MedMNIST), plain
// cross-entropy, no augmentation, the whole encoder trained at the head's learning rate.
// Set Backend and Encoder.
func DefaultConfig() Config {
	return Config{Epochs: DefaultEpochs, BatchSize: DefaultBatchSize, Optimizer: optim.MedMNIST(),
		Remedy: Remedy{Weighting: Unweighted}, EncoderLRMultiplier: 1}
}

// Validate reports the first setting that cannot be trained with, naming it.
func (c Config) Validate() error {
	if c.Backend == nil {
		return errors.New("supervised: Config needs a Backend (medssl.Backend())")
	}
	switch {
	case c.Epochs <= 0:
		return fmt.Errorf("supervised: Epochs %d, want > 0 (start from supervised.DefaultConfig())", c.Epochs)
	case c.MinSteps < 0:
		return fmt.Errorf("supervised: MinSteps %d, want >= 0", c.MinSteps)
	case c.BatchSize <= 0:
		return fmt.Errorf("supervised: BatchSize %d, want > 0 (start from supervised.DefaultConfig())", c.BatchSize)
	case !(c.EncoderLRMultiplier >= 0) || math.IsInf(c.EncoderLRMultiplier, 0):
		return fmt.Errorf("supervised: EncoderLRMultiplier %v, want >= 0 and finite (1 trains the encoder like the head, 0 freezes it)", c.EncoderLRMultiplier)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return fmt.Errorf("supervised: %w (start from supervised.DefaultConfig())", err)
	}
	return c.Remedy.Validate()
}

// validateImages checks what training on images needs beyond Validate.
func (c Config) validateImages() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.Encoder == nil {
		return errors.New("supervised: Config needs an Encoder")
	}
	return nil
}

// RunEpochs returns the epochs a run over n examples (or bags) trains and its steps per
// epoch, ⌈n/BatchSize⌉: Epochs, raised until the run has at least MinSteps steps.
func (c Config) RunEpochs(n int) (epochs, perEpoch int) {
	batch := max(1, min(c.BatchSize, n))
	perEpoch = max(1, (n+batch-1)/batch)
	return max(c.Epochs, (c.MinSteps+perEpoch-1)/perEpoch), perEpoch
}

// ValidationEvery returns the epochs between two validations of a run over n examples: 1,
// or ⌈epochs/Epochs⌉ when MinSteps has stretched the run beyond Epochs, so that the model is
// still chosen among about Epochs checkpoints (the run is also validated after its last
// epoch). Validating after each of a hundred one-step epochs made validation most of the
// time of a run over 1% of PneumoniaMNIST's labels.
func (c Config) ValidationEvery(n int) int {
	epochs, _ := c.RunEpochs(n)
	if epochs <= c.Epochs {
		return 1
	}
	return (epochs + c.Epochs - 1) / c.Epochs
}
