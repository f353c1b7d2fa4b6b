package study

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/gomlx/compute"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

// NoPretraining is the method name of cells without pretraining: with the frozen-feature
// arms it measures a randomly initialised encoder (eval.RandomEncoder), the floor every
// pretext method must beat.
const NoPretraining = "none"

// Config describes a study. Start from DefaultConfig (or PaperConfig) and change fields:
// every field means what it says, zero included.
type Config struct {
	Dataset *data.Dataset   // required; single- or multi-label
	Backend compute.Backend // required
	Encoder models.Encoder  // required
	// OutDir holds results.jsonl, pretraining checkpoints and the reports (required).
	OutDir string

	// The grid. Methods are ssl registry names or NoPretraining; Arms the evaluation
	// protocols; Remedies the named remedies against class imbalance the supervised,
	// fine-tuning and linear arms train with (supervised.RemedyByName: "none", "weighted",
	// "effective", "focal", "oversample"); Fractions of the training labels in (0, 1];
	// Imbalances, majority:minority ratios >= 1 imposed on the training split (1: the split
	// as it is); Seeds. None may be empty.
	Methods    []string
	Arms       []eval.Arm
	Remedies   []string
	Fractions  []float64
	Imbalances []float64
	Seeds      []int64
	// RemedyArms, when set, limits the Remedies dimension to these trained arms; the
	// other trained arms run without a remedy ("none") only. Nil: every trained arm
	// (supervised, linear, finetune) runs with every remedy.
	RemedyArms []eval.Arm

	// Folds >= 2 replaces the fixed validation split by Folds-fold cross-validation on the
	// training and validation splits together (data.Folds: stratified, by patient, drawn
	// anew with each seed): every cell runs once per fold, trained on the other folds and
	// selected on its own; the test split stays untouched. 0: the dataset's splits.
	Folds int
	// PretrainOn lists what the methods pretrain on, a dimension of the grid: OwnImages
	// (each cell's training images, the default) and/or the names of Pools.
	PretrainOn []string
	// Pools are unlabelled image sources PretrainOn may name.
	Pools []Pool
	// ExternalTests are test sets from elsewhere, scored by every cell beside the test split.
	ExternalTests []TestSet
	// Explain, when > 0, explains every arm of the first seed (and first fold) on that many
	// test images per class, the same images for every arm: Grad-CAM of the true class for
	// ResNet classifiers and probes, attention rollout for ViT encoders (eval/explain). The
	// report's figures then include one grid per label fraction and imbalance. Single-label
	// datasets only.
	Explain int
	// Segmentation, set in place of Dataset, makes this a segmentation study (see
	// Segmentation): Arms are then supervised, finetune and frozen.
	Segmentation *Segmentation
	// Shard, when set, runs only this shard's part of the grid (see Shard).
	Shard Shard
	// Workers is how many jobs (a pretraining with the cells that use it, or a cell without
	// one) this process runs at once; 0 or 1 runs them one after the other. Results do not
	// depend on it, only the wall time, the cells' Seconds (measured while sharing the
	// machine) and the peak memory (about one more training's worth per worker).
	Workers int

	// Pretrain is the template of every pretraining (Backend, Encoder, Method, Seed,
	// CheckpointDir and Monitors are set per pretraining; its Progress shows GoMLX's
	// progress bar).
	Pretrain ssl.PretrainConfig
	// PretrainRecipe, when set, gives each method its recipe (ssl.Recipe.For: the paper's,
	// solo-learn's or Adam) in place of Pretrain.Optimizer.
	PretrainRecipe ssl.Recipe
	// KNNMonitor, when true, scores every pretraining with a kNN classifier on the
	// validation split (eval.KNNMonitor, fitted on the training split's labels) at each of
	// Pretrain's MonitorEpochs, beside the loss and collapse measures. It only watches:
	// no checkpoint is chosen by it.
	KNNMonitor bool
	// Protocols are the arms' settings (Backend, Encoder and Seed are set per cell).
	Protocols eval.Protocols

	// BootstrapReps is the number of bootstrap replicates of each cell's 95% test-AUC
	// interval (0: no interval).
	BootstrapReps int

	// StopAfter, when > 0, makes Run return ErrStopped after computing that many cells
	// (cells read back from results.jsonl do not count): a study can be run in slices.
	StopAfter int
	// Progress receives the progress display (nil: none).
	Progress io.Writer
	// OnCell, when set, is called before a cell is computed (never for a cell read back
	// from results.jsonl). Tests count protocol runs with it.
	OnCell func(Cell)
}

// The main job's grid and budget, DefaultConfig's values.
const (
	// DefaultEpochs is the pretraining, supervised and fine-tuning budget of DefaultConfig:
	// short enough for a 2-core laptop on the pure-Go backend.
	DefaultEpochs = 15
	// DefaultWidth is the base width of DefaultConfig's ResNet-18 (64 is the standard one).
	DefaultWidth = 16
	// DefaultBootstrapReps is the number of bootstrap replicates of each cell's interval.
	DefaultBootstrapReps = 1000
	// DefaultWorkers is DefaultConfig's Workers. On the 2-core machine of the README's Speed
	// section a training of the main job's narrow ResNet leaves the cores partly idle
	// between its ops; two jobs at once fill those gaps: the main job took 7 min 36 s and
	// 7 min 58 s (two runs) against 8 min 18 s one job at a time, with the same results
	// (peak memory 2.5 GB against 1.8 GB). It needs the go backend's ops_parallel
	// (medssl.GoBackendOptions).
	DefaultWorkers = 2
)

// DefaultConfig is the main job (examples/study): SimCLR against the supervised baseline,
// with every arm (supervised, linear probe, kNN, fine-tuning), at 10% and 100% of the labels,
// the training split as it is, 3 seeds, on a ResNet-18 of base width 16 (its stem chosen
// from the image size), 15 epochs of pretraining (ssl.DefaultPretrainConfig otherwise), 15
// epochs of supervised training and of fine-tuning with augment.SupervisedDefault
// (eval.DefaultProtocols otherwise), and 1000 bootstrap replicates per cell. It is sized for
// a 2-core laptop on the pure-Go backend; PaperConfig is the paper-scale protocol. Set
// Dataset, Backend and OutDir.
func DefaultConfig() Config {
	c := Config{
		Encoder:    models.ResNet18().Width(DefaultWidth),
		OutDir:     "medssl-study",
		Methods:    []string{"simclr"},
		Arms:       eval.Arms(),
		Remedies:   []string{supervised.RemedyNone},
		Fractions:  []float64{0.1, 1},
		Imbalances: []float64{1},
		Seeds:      []int64{1, 2, 3},
		PretrainOn: []string{OwnImages},
		Pretrain:   ssl.DefaultPretrainConfig(),
		KNNMonitor: true,
		Protocols:  eval.DefaultProtocols(),

		BootstrapReps: DefaultBootstrapReps,
		Workers:       DefaultWorkers,
		Progress:      os.Stdout,
	}
	c.Pretrain.Epochs = DefaultEpochs
	c.Protocols.Train.Epochs, c.Protocols.FineTune.Epochs = DefaultEpochs, DefaultEpochs
	c.Protocols.Train.Augment = augment.SupervisedDefault()
	return c
}

// PaperConfig is DefaultConfig at the scale of the papers: a standard-width ResNet-18, 200
// pretraining epochs, and the MedMNIST protocol's 100 supervised and fine-tuning epochs.
func PaperConfig() Config {
	c := DefaultConfig()
	c.Encoder = models.ResNet18()
	c.Pretrain.Epochs = 200
	c.Protocols.Train.Epochs, c.Protocols.FineTune.Epochs = 100, 100
	return c
}

// ErrStopped is returned by Run when Config.StopAfter cells were computed or the context
// was cancelled; the finished cells are saved and a later Run resumes after them.
var ErrStopped = errors.New("study: stopped before the end")

// Validate reports the first setting the study cannot run with, naming it.
func (c *Config) Validate() error {
	if (c.Dataset == nil && c.Segmentation == nil) || c.Backend == nil || c.Encoder == nil {
		return errors.New("study: Config needs a Dataset (or a Segmentation), a Backend and an Encoder")
	}
	if c.OutDir == "" {
		return errors.New("study: Config needs an OutDir")
	}
	if c.Workers < 0 {
		return fmt.Errorf("study: Workers %d, want >= 0", c.Workers)
	}
	for what, n := range map[string]int{"Methods": len(c.Methods), "Arms": len(c.Arms), "Remedies": len(c.Remedies), "Fractions": len(c.Fractions),
		"Imbalances": len(c.Imbalances), "Seeds": len(c.Seeds)} {
		if n == 0 {
			return fmt.Errorf("study: %s is empty (start from study.DefaultConfig())", what)
		}
	}
	for _, m := range c.Methods {
		if m == NoPretraining {
			continue
		}
		if _, err := ssl.New(m); err != nil {
			return fmt.Errorf("study: method %q: %w", m, err)
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
	if hasDup(c.Methods) || hasDup(c.Arms) || hasDup(c.Remedies) || hasDup(c.Fractions) || hasDup(c.Imbalances) || hasDup(c.Seeds) {
		return errors.New("study: a method, arm, remedy, fraction, imbalance or seed is listed twice")
	}
	if err := c.Shard.validate(); err != nil {
		return err
	}
	if c.BootstrapReps < 0 {
		return fmt.Errorf("study: BootstrapReps %d, want >= 0", c.BootstrapReps)
	}
	if c.segmentation() {
		if err := c.validateSegmentation(); err != nil {
			return err
		}
	} else if err := c.validateClassification(); err != nil {
		return err
	}
	if c.needsPretraining() {
		for _, name := range c.Methods {
			if name == NoPretraining {
				continue
			}
			m, _ := ssl.New(name)
			p, err := c.pretrainConfig(m)
			if err == nil {
				err = p.Validate()
			}
			if err != nil {
				return fmt.Errorf("study: pretraining %s: %w", name, err)
			}
		}
	}
	if _, err := c.fingerprints(); err != nil {
		return err
	}
	return nil
}

// validateClassification checks the settings of a classification study: the dataset, arms,
// remedies, folds, explanations, sources and the arms' protocols.
func (c *Config) validateClassification() error {
	ds := c.Dataset
	if ds.Train == nil || ds.Val == nil || ds.Test == nil || ds.Train.N == 0 || ds.Val.N == 0 || ds.Test.N == 0 {
		return fmt.Errorf("study: dataset %q needs non-empty train, val and test splits", ds.Name)
	}
	for _, a := range c.Arms {
		if _, err := eval.ParseArm(string(a)); err != nil {
			return fmt.Errorf("study: %w", err)
		}
	}
	for _, a := range c.RemedyArms {
		if a != eval.ArmSupervised && a != eval.ArmLinear && a != eval.ArmFineTune {
			return fmt.Errorf("study: RemedyArms: %q is not a trained arm (supervised, linear or finetune)", a)
		}
	}
	for _, r := range c.Remedies {
		remedy, err := supervised.RemedyByName(r)
		if err == nil && ds.Train.MultiLabel() {
			err = remedy.CheckMultiLabel()
		}
		if err != nil {
			return fmt.Errorf("study: remedy %s: %w", r, err)
		}
	}
	if c.Folds < 0 || c.Folds == 1 {
		return fmt.Errorf("study: Folds %d, want 0 (the dataset's validation split) or at least 2", c.Folds)
	}
	if c.Explain < 0 || (c.Explain > 0 && ds.Train.MultiLabel()) {
		return fmt.Errorf("study: Explain %d: want >= 0, and 0 for a multi-label dataset (explanations pick images per class)", c.Explain)
	}
	if err := c.validateSources(); err != nil {
		return err
	}
	return c.validateProtocols()
}

// validateProtocols checks the settings of the arms the study runs, with every remedy.
func (c *Config) validateProtocols() error {
	for _, r := range c.Remedies {
		p, err := c.protocolsFor(r)
		if err != nil {
			return err
		}
		if err := p.Search.Validate(); err != nil {
			return fmt.Errorf("study: %w", err)
		}
		for _, a := range c.Arms {
			var err error
			switch a {
			case eval.ArmSupervised, eval.ArmFineTune:
				t := p.Train
				t.Backend = c.Backend
				err = t.Validate()
				if err == nil && a == eval.ArmFineTune {
					err = p.FineTune.Validate()
				}
			case eval.ArmLinear:
				t := p.Probe
				t.Backend = c.Backend
				err = t.Validate()
			case eval.ArmKNN:
				err = p.KNN.Validate()
			}
			if err != nil {
				return fmt.Errorf("study: arm %s: %w", a, err)
			}
		}
	}
	return nil
}

// protocolsFor returns the protocols with the named remedy in every trained arm.
func (c *Config) protocolsFor(remedy string) (eval.Protocols, error) {
	r, err := supervised.RemedyByName(remedy)
	if err != nil {
		return eval.Protocols{}, fmt.Errorf("study: %w", err)
	}
	p := c.Protocols
	p.Train.Remedy, p.Probe.Remedy = r, r
	return p, nil
}

// pretrainOptimizer returns the optimisation recipe of method m's pretrainings.
func (c *Config) pretrainOptimizer(m ssl.Method) (optim.Config, error) {
	if c.PretrainRecipe == "" {
		return c.Pretrain.Optimizer, nil
	}
	opt, err := c.PretrainRecipe.For(m, c.Encoder, c.Pretrain.BatchSize)
	if err != nil {
		return optim.Config{}, fmt.Errorf("study: %w", err)
	}
	return opt, nil
}

// pretrainConfig returns the pretraining template for method m, recipe resolved (Seed,
// CheckpointDir and Monitors are set per pretraining).
func (c *Config) pretrainConfig(m ssl.Method) (ssl.PretrainConfig, error) {
	p := c.Pretrain
	p.Backend, p.Encoder, p.Method = c.Backend, c.Encoder, m
	var err error
	p.Optimizer, err = c.pretrainOptimizer(m)
	return p, err
}

func (c *Config) needsPretraining() bool {
	for _, cell := range c.cells() {
		if cell.NeedsPretraining() {
			return true
		}
	}
	return false
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
