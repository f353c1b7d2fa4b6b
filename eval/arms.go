package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// Arm is one way of turning labels into a classifier, with or without a pretrained
// encoder: the arms an SSL-versus-supervised study compares.
type Arm string

// The arms.
const (
	// ArmSupervised trains the encoder from random initialisation on the labelled images:
	// the baseline every other arm is compared with.
	ArmSupervised Arm = "supervised"
	// ArmLinear trains a linear probe on frozen pretrained features, its learning rate (and
	// weight decay) chosen on the validation split (LinearProbeSearch).
	ArmLinear Arm = "linear"
	// ArmKNN classifies by a weighted vote of the nearest frozen pretrained features (KNN).
	ArmKNN Arm = "knn"
	// ArmFineTune fine-tunes the pretrained encoder with a new head (FineTune).
	ArmFineTune Arm = "finetune"
)

// Arms lists every arm, in the order studies run and report them.
func Arms() []Arm { return []Arm{ArmSupervised, ArmLinear, ArmKNN, ArmFineTune} }

// ParseArm returns the arm named s.
func ParseArm(s string) (Arm, error) {
	a := Arm(strings.TrimSpace(s))
	if !slices.Contains(Arms(), a) {
		return "", fmt.Errorf("eval: unknown arm %q (known: %s)", s, joinArms(Arms()))
	}
	return a, nil
}

// ParseArms parses a comma-separated list of arm names ("linear,knn").
func ParseArms(list string) ([]Arm, error) {
	var out []Arm
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		a, err := ParseArm(s)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

func joinArms(arms []Arm) string {
	names := make([]string, len(arms))
	for i, a := range arms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// UsesEncoder tells whether the arm reads a pretrained (or random) encoder's weights.
func (a Arm) UsesEncoder() bool { return a != ArmSupervised }

// Protocols holds the settings of every arm. Start from DefaultProtocols.
type Protocols struct {
	// Train is the supervised arm's recipe and the template fine-tuning changes (Backend,
	// Encoder, Seed and Pretrained are set by RunArm).
	Train supervised.Config
	// FineTune is what fine-tuning changes in Train.
	FineTune FineTuneConfig
	// Probe is the recipe of each linear probe.
	Probe supervised.Config
	// Search is the hyperparameter search the supervised, fine-tuning and linear arms each
	// run on the validation split, one rule for all (see Search).
	Search Search
	// KNN configures the kNN arm; when KNNKs is not empty, k is chosen among them on
	// validation AUC (KNN.K is then ignored).
	KNN   KNNConfig
	KNNKs []int
}

// DefaultProtocols are the MedMNIST supervised protocol (supervised.DefaultConfig), full
// fine-tuning with the same budget, DefaultProbeConfig probes, DefaultSearch for every
// trained arm, and DINO's kNN (DefaultKNNConfig).
func DefaultProtocols() Protocols {
	return Protocols{
		Train:    supervised.DefaultConfig(),
		FineTune: DefaultFineTuneConfig(),
		Probe:    DefaultProbeConfig(),
		Search:   DefaultSearch(),
		KNN:      DefaultKNNConfig(),
	}
}

// ArmInput is what one run of an arm reads.
type ArmInput struct {
	Backend compute.Backend
	Encoder models.Encoder
	// Pretrained holds the encoder's weights under models.EncoderScope (ignored by
	// ArmSupervised). RandomEncoder gives the random-initialisation floor.
	Pretrained *model.Store
	// Train is the labelled training split, Val selects the model, Test is only scored.
	// They are all single-label, or all multi-label with NumClasses labels.
	Train, Val, Test *data.Split
	NumClasses       int // classes, or labels per image for multi-label splits
	// Seed fixes initialisation, augmentation and shuffling.
	Seed int64
}

// Outcome is what one run of an arm produced.
//
// For multi-label splits, TestScores are per-label probabilities [N][L] (sigmoids; kNN's
// weighted fraction of neighbours with the label), rows not summing to 1, and every AUC
// is the macro AUC over the labels with both classes in the split scored
// (metrics.MultiLabelAUC). supervised.Score(test, TestScores) gives the metrics of either
// kind.
type Outcome struct {
	// MultiLabel tells that the scores are per label, not per class.
	MultiLabel bool
	// TestScores are the class probabilities [N][C] of the test images.
	TestScores [][]float64
	// ValAUC is the validation AUC of the selected model; TrainLoss is the selected run's
	// loss per epoch and ValAUCs its validation AUCs (per epoch, or every
	// supervised.Config.ValidationEvery epochs of a run stretched by MinSteps; empty for kNN).
	ValAUC             float64
	ValAUCs, TrainLoss []float64
	// Selected holds what model selection chose: best_epoch, epochs, lr, wd, k, temperature.
	Selected map[string]float64
	// Model is the selected model, to score other images (external test sets) the same way.
	Model Predictor
	// Classifier is the selected model of the supervised and fine-tuning arms, Probe the
	// linear arm's (nil otherwise): what explanations (eval/explain) differentiate.
	Classifier *supervised.Classifier
	Probe      *Probe
}

// Predictor is a trained arm's model: it scores images with class probabilities [N][C].
type Predictor interface {
	Scores(split *data.Split) ([][]float64, error)
}

// scorer is a Predictor made of a function.
type scorer func(*data.Split) ([][]float64, error)

func (f scorer) Scores(split *data.Split) ([][]float64, error) { return f(split) }

// float32Scorer adapts a prediction function of float32 probabilities.
func float32Scorer(predict func(*data.Split) ([][]float32, error)) scorer {
	return func(split *data.Split) ([][]float64, error) {
		probs, err := predict(split)
		if err != nil {
			return nil, err
		}
		return metrics.FromFloat32(probs), nil
	}
}

// RandomEncoder returns an empty store seeded with seed: the encoder's variables are
// created at random the first time it is used, so the frozen-feature arms measure what a
// randomly initialised encoder gives (the floor every pretext method must beat).
func RandomEncoder(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}

// RunArm runs arm on in with p's settings: it trains on in.Train, selects on in.Val only,
// and scores in.Test.
func RunArm(arm Arm, in ArmInput, p Protocols) (*Outcome, error) {
	if in.Backend == nil || in.Encoder == nil {
		return nil, errors.New("eval: RunArm needs a Backend and an Encoder")
	}
	if arm.UsesEncoder() && in.Pretrained == nil {
		return nil, fmt.Errorf("eval: arm %s needs an encoder store (eval.RandomEncoder for none)", arm)
	}
	if in.Test == nil || in.Test.N == 0 {
		return nil, errors.New("eval: RunArm: empty test split")
	}
	if err := checkPair(in.Train, in.Val, in.NumClasses); err != nil {
		return nil, fmt.Errorf("eval: RunArm: %w", err)
	}
	if err := checkLabelled("test", in.Test); err != nil {
		return nil, fmt.Errorf("eval: RunArm: %w", err)
	}
	if in.Test.MultiLabel() != in.Train.MultiLabel() || in.Test.LabelDim != in.Train.LabelDim {
		return nil, fmt.Errorf("eval: RunArm: test split %q has %d labels per image, training split %q %d", in.Test.Name, in.Test.LabelDim, in.Train.Name, in.Train.LabelDim)
	}
	recipe := p.Train
	recipe.Backend, recipe.Encoder, recipe.Seed = in.Backend, in.Encoder, in.Seed
	out := &Outcome{MultiLabel: in.Train.MultiLabel(), Selected: map[string]float64{}}
	var clf *supervised.Classifier
	var chosen supervised.Config
	switch arm {
	case ArmSupervised, ArmFineTune:
		if arm == ArmFineTune {
			if err := p.FineTune.Validate(); err != nil {
				return nil, err
			}
			recipe = p.FineTune.apply(recipe, in.Pretrained)
		}
		var err error
		if clf, chosen, _, err = TrainSearch(in.Train, in.Val, in.NumClasses, recipe, p.Search); err != nil {
			return nil, err
		}
	case ArmLinear:
		probe := p.Probe
		probe.Backend, probe.Encoder, probe.Seed = in.Backend, in.Encoder, in.Seed
		search, err := LinearProbeSearch(in.Train, in.Val, in.NumClasses, in.Pretrained, probe, p.Search)
		if err != nil {
			return nil, err
		}
		out.Model, out.Probe = float32Scorer(search.Best.Predict), search.Best
		if out.TestScores, err = out.Model.Scores(in.Test); err != nil {
			return nil, err
		}
		head := search.Best.Head
		out.ValAUC, out.ValAUCs, out.TrainLoss = head.BestValAUC, head.ValAUC, head.TrainLoss
		out.Selected["best_epoch"], out.Selected["epochs"] = float64(head.BestEpoch), float64(head.Epochs)
		out.Selected["lr"], out.Selected["wd"] = search.LearningRate, search.WeightDecay
		return out, nil
	case ArmKNN:
		knn, err := KNN(in.Backend, in.Pretrained, in.Encoder, in.Train, in.Val, in.NumClasses, p.KNN, p.KNNKs...)
		if err != nil {
			return nil, err
		}
		out.Model = scorer(knn.Predict)
		if out.TestScores, err = out.Model.Scores(in.Test); err != nil {
			return nil, err
		}
		out.ValAUC = knn.ValAUC
		out.Selected["k"], out.Selected["temperature"] = float64(knn.Config.K), knn.Config.Temperature
		return out, nil
	default:
		return nil, fmt.Errorf("eval: unknown arm %q", arm)
	}
	out.Model, out.Classifier = float32Scorer(clf.Predict), clf
	var err error
	if out.TestScores, err = out.Model.Scores(in.Test); err != nil {
		return nil, err
	}
	out.ValAUC, out.ValAUCs, out.TrainLoss = clf.BestValAUC, clf.ValAUC, clf.TrainLoss
	out.Selected["best_epoch"], out.Selected["epochs"] = float64(clf.BestEpoch), float64(clf.Epochs)
	out.Selected["lr"], out.Selected["wd"] = chosen.Optimizer.LearningRate, chosen.Optimizer.WeightDecay
	return out, nil
}
