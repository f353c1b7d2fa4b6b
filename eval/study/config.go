package study

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/gomlx/compute"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

// Arms (evaluation protocols) a study can run.
const (
	ArmSupervised = "supervised"
	ArmLinear     = "linear"
	ArmKNN        = "knn"
	ArmFineTune   = "finetune"
)

// NoPretraining is the method name of cells without pretraining.
const NoPretraining = "none"

// Arms lists every arm, in the order cells run and reports show them.
func Arms() []string { return []string{ArmSupervised, ArmLinear, ArmKNN, ArmFineTune} }

// PretrainSettings are the ssl.PretrainConfig fields a study sets for every pretraining.
type PretrainSettings struct {
	// Epochs (default 100, ssl's) or Steps (overrides Epochs) of pretraining.
	Epochs, Steps int
	// BatchSize (default 128), LearningRate (1e-3) and WeightDecay (1e-6): ssl's defaults.
	BatchSize                 int
	LearningRate, WeightDecay float64
	// Augment makes the views; nil is augment.MedicalDefault().
	Augment augment.Transform
	// AugmentName names Augment in reports and in the settings fingerprint (default
	// "medical" when Augment is nil, else "custom").
	AugmentName string
	// Progress shows GoMLX's progress bar during pretraining.
	Progress bool
}

// FineTuneSettings configure the "finetune" arm; the rest comes from Config.Train.
type FineTuneSettings struct {
	// Epochs (default Config.Train.Epochs).
	Epochs int
	// EncoderLRMultiplier scales the encoder's learning rate (default 1).
	EncoderLRMultiplier float64
	// TrainableFrom fine-tunes only from this encoder scope on (e.g. "encoder/stage4");
	// empty fine-tunes the whole encoder. See supervised.Config.TrainableFrom.
	TrainableFrom string
}

// ProbeSettings configure the "linear" arm.
type ProbeSettings struct {
	// Epochs of each probe (default 100; the features are cached, so probes are cheap).
	Epochs int
	// Grid searched on validation AUC (default supervised.DefaultProbeGrid()).
	Grid supervised.ProbeGrid
}

// KNNSettings configure the "knn" arm.
type KNNSettings struct {
	supervised.KNNConfig
	// Ks, when set, are the values of k tried on the validation split (the best AUC is
	// kept); empty uses KNNConfig.K (default 20).
	Ks []int
}

// Config describes a study. Zero fields take the documented defaults.
type Config struct {
	Dataset *data.Dataset   // required; single-label
	Backend compute.Backend // required
	Encoder models.Encoder  // required
	// OutDir holds results.jsonl, pretraining checkpoints and the reports (required).
	OutDir string

	// The grid. Methods are ssl registry names or NoPretraining (default ["simclr"]); Arms
	// (default all of Arms()); Fractions of the training labels in (0, 1] (default [1]);
	// Imbalances, majority:minority ratios >= 1 imposed on the training split (default [1]:
	// the split as it is); Seeds (default [1, 2, 3]).
	Methods    []string
	Arms       []string
	Fractions  []float64
	Imbalances []float64
	Seeds      []int64

	Pretrain PretrainSettings
	// Train is the template of the supervised arm and of fine-tuning (Epochs, BatchSize,
	// LearningRate, WeightDecay, Milestones, Augment); Backend, Encoder, Seed and
	// Pretrained are set per cell. Zero fields: the MedMNIST protocol (supervised.Config).
	Train supervised.Config
	// TrainAugmentName names Train.Augment in reports ("none" when nil, else "custom").
	TrainAugmentName string
	FineTune         FineTuneSettings
	Probe            ProbeSettings
	KNN              KNNSettings

	// BootstrapReps is the number of bootstrap replicates of each cell's 95% test-AUC
	// interval (default 1000; negative: no interval).
	BootstrapReps int

	// StopAfter, when > 0, makes Run return ErrStopped after computing that many cells
	// (cells read back from results.jsonl do not count): a study can be run in slices.
	StopAfter int
	// Progress receives the progress display (default os.Stdout; io.Discard silences it).
	Progress io.Writer
	// OnCell, when set, is called before a cell is computed (never for a cell read back
	// from results.jsonl). Tests count protocol runs with it.
	OnCell func(Cell)
}

// ErrStopped is returned by Run when Config.StopAfter cells were computed or the context
// was cancelled; the finished cells are saved and a later Run resumes after them.
var ErrStopped = errors.New("study: stopped before the end")

func (c *Config) withDefaults() error {
	if c.Dataset == nil || c.Backend == nil || c.Encoder == nil {
		return errors.New("study: Config needs a Dataset, a Backend and an Encoder")
	}
	if c.OutDir == "" {
		return errors.New("study: Config needs an OutDir")
	}
	ds := c.Dataset
	if ds.Train == nil || ds.Val == nil || ds.Test == nil || ds.Train.N == 0 || ds.Val.N == 0 || ds.Test.N == 0 {
		return fmt.Errorf("study: dataset %q needs non-empty train, val and test splits", ds.Name)
	}
	if !ds.Task.SingleLabel() || ds.Train.LabelDim != 1 {
		return fmt.Errorf("study: dataset %q is multi-label; studies support single-label tasks", ds.Name)
	}
	if len(c.Methods) == 0 {
		c.Methods = []string{"simclr"}
	}
	if len(c.Arms) == 0 {
		c.Arms = Arms()
	}
	if len(c.Fractions) == 0 {
		c.Fractions = []float64{1}
	}
	if len(c.Imbalances) == 0 {
		c.Imbalances = []float64{1}
	}
	if len(c.Seeds) == 0 {
		c.Seeds = []int64{1, 2, 3}
	}
	for _, m := range c.Methods {
		if m == NoPretraining {
			continue
		}
		if _, err := ssl.New(m); err != nil {
			return fmt.Errorf("study: method %q: %w", m, err)
		}
	}
	for _, a := range c.Arms {
		if !slices.Contains(Arms(), a) {
			return fmt.Errorf("study: unknown arm %q (known: %v)", a, Arms())
		}
	}
	for _, f := range c.Fractions {
		if !(f > 0 && f <= 1) {
			return fmt.Errorf("study: label fraction %v not in (0, 1]", f)
		}
	}
	for _, r := range c.Imbalances {
		if !(r >= 1) || math.IsInf(r, 0) {
			return fmt.Errorf("study: imbalance ratio %v, want a finite ratio >= 1", r)
		}
	}
	for _, list := range [][]string{c.Methods, c.Arms} {
		if dup := firstDuplicate(list); dup != "" {
			return fmt.Errorf("study: %q listed twice", dup)
		}
	}
	if hasDup(c.Fractions) || hasDup(c.Imbalances) || hasDup(c.Seeds) {
		return errors.New("study: a fraction, imbalance or seed is listed twice")
	}
	if c.Train.Epochs == 0 {
		c.Train.Epochs = 100
	}
	if c.Train.BatchSize == 0 {
		c.Train.BatchSize = 128
	}
	if c.TrainAugmentName == "" {
		c.TrainAugmentName = "none"
		if c.Train.Augment != nil {
			c.TrainAugmentName = "custom"
		}
	}
	if c.Pretrain.BatchSize == 0 {
		c.Pretrain.BatchSize = 128
	}
	if c.Pretrain.Epochs == 0 && c.Pretrain.Steps == 0 {
		c.Pretrain.Epochs = 100
	}
	if c.Pretrain.AugmentName == "" {
		c.Pretrain.AugmentName = "medical"
		if c.Pretrain.Augment != nil {
			c.Pretrain.AugmentName = "custom"
		}
	}
	if c.FineTune.Epochs == 0 {
		c.FineTune.Epochs = c.Train.Epochs
	}
	if c.FineTune.EncoderLRMultiplier == 0 {
		c.FineTune.EncoderLRMultiplier = 1
	}
	if c.Probe.Epochs == 0 {
		c.Probe.Epochs = 100
	}
	if len(c.Probe.Grid.LearningRates) == 0 && len(c.Probe.Grid.WeightDecays) == 0 {
		c.Probe.Grid = supervised.DefaultProbeGrid()
	}
	if c.KNN.K == 0 {
		c.KNN.K = 20
	}
	if c.KNN.Temperature == 0 {
		c.KNN.Temperature = 0.07
	}
	if c.BootstrapReps == 0 {
		c.BootstrapReps = 1000
	}
	if c.Progress == nil {
		c.Progress = os.Stdout
	}
	return nil
}

func firstDuplicate(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}

func hasDup[T comparable](xs []T) bool {
	seen := map[T]bool{}
	for _, x := range xs {
		if seen[x] {
			return true
		}
		seen[x] = true
	}
	return false
}
