package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/supervised"
)

// FineTuneConfig is what fine-tuning changes in a supervised recipe.
type FineTuneConfig struct {
	// Epochs (> 0) of fine-tuning.
	Epochs int
	// EncoderLRMultiplier scales the encoder's learning rate relative to the head's: 1 trains
	// both alike, 0.1 is a common gentler choice, 0 freezes the encoder (its batch-norm
	// running averages too). See supervised.Config.
	EncoderLRMultiplier float64
	// TrainableFrom fine-tunes only from this encoder scope on (e.g. "encoder/stage4");
	// empty fine-tunes the whole encoder. See supervised.Config.TrainableFrom.
	TrainableFrom string
}

// DefaultFineTuneConfig fine-tunes the whole encoder at the head's learning rate for as many
// epochs as the supervised protocol trains (supervised.DefaultEpochs), so that both arms get
// the same budget.
func DefaultFineTuneConfig() FineTuneConfig {
	return FineTuneConfig{Epochs: supervised.DefaultEpochs, EncoderLRMultiplier: 1}
}

// Validate reports a setting fine-tuning cannot use.
func (c FineTuneConfig) Validate() error {
	if c.Epochs <= 0 {
		return fmt.Errorf("eval: fine-tuning Epochs %d, want > 0", c.Epochs)
	}
	if !(c.EncoderLRMultiplier >= 0) || math.IsInf(c.EncoderLRMultiplier, 0) {
		return fmt.Errorf("eval: fine-tuning EncoderLRMultiplier %v, want >= 0 and finite", c.EncoderLRMultiplier)
	}
	return nil
}

// apply returns recipe changed for fine-tuning pretrained with c.
func (c FineTuneConfig) apply(recipe supervised.Config, pretrained *model.Store) supervised.Config {
	recipe.Epochs, recipe.Pretrained = c.Epochs, pretrained
	recipe.EncoderLRMultiplier, recipe.TrainableFrom = c.EncoderLRMultiplier, c.TrainableFrom
	return recipe
}

// FineTune trains the pretrained encoder (its variables under models.EncoderScope of
// pretrained) with a new linear head on trainSplit's labels: recipe's optimiser, schedule,
// remedy, augmentation and seed with ft's epochs, encoder learning-rate multiplier and
// trainable layers, keeping the epoch with the best validation AUC (supervised.Train).
func FineTune(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, recipe supervised.Config, ft FineTuneConfig) (*supervised.Classifier, error) {
	if pretrained == nil {
		return nil, errors.New("eval: fine-tuning needs a pretrained store")
	}
	if err := ft.Validate(); err != nil {
		return nil, err
	}
	clf, err := supervised.Train(trainSplit, valSplit, numClasses, ft.apply(recipe, pretrained))
	if err != nil {
		return nil, fmt.Errorf("eval: fine-tuning: %w", err)
	}
	return clf, nil
}
