package ssl

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/ui/commandline"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// Store parameters that record what a checkpoint holds, so that resuming with another
// method or encoder fails loudly instead of silently mixing weights.
const (
	ParamMethod  = "medssl_method"
	ParamEncoder = "medssl_encoder"
)

// ErrCheckpointMismatch is returned when a checkpoint directory holds a run of another
// method or encoder than the one asked for.
var ErrCheckpointMismatch = errors.New("ssl: checkpoint belongs to another run")

// PretrainConfig configures Pretrain. Start from DefaultPretrainConfig and change fields:
// every field means what it says, zero included (weight decay 0, no augmentation, no
// monitoring, checkpoints only at the end).
type PretrainConfig struct {
	Encoder models.Encoder // required
	Method  Method         // required
	// Augment makes each view; nil feeds the images unchanged. DefaultPretrainConfig uses
	// augment.MedicalDefault() (SimCLR's own recipe is too harsh for 28 px grayscale images).
	Augment augment.Transform
	// Epochs over the images; the number of steps is Epochs·⌊N/BatchSize⌋. Steps, when > 0,
	// overrides Epochs.
	Epochs, Steps int
	// BatchSize (> 0). The last incomplete batch of an epoch is dropped: contrastive losses
	// depend on the batch size.
	BatchSize int
	// Optimizer is the update rule, learning-rate schedule and weight decay, laid over the
	// run's steps (RecipeAdam, RecipePaper and RecipeSolo give the built-in recipes).
	Optimizer optim.Config
	// Seed fixes initialisation, augmentation and shuffling.
	Seed int64
	// CheckpointDir, when set, saves the run every CheckpointEvery steps (0: only at the
	// end) and at the end; an existing checkpoint there is resumed from its last step.
	CheckpointDir   string
	CheckpointEvery int
	// Progress shows GoMLX's progress bar on stdout.
	Progress bool
	// MonitorEpochs measures representation quality every this many epochs and after the
	// last step (0: never): collapse (see Collapse) on a fixed batch of up to 256
	// un-augmented images, and every one of Monitors. MonitorSteps, when > 0, counts in
	// steps instead.
	MonitorEpochs, MonitorSteps int
	// Monitors measure the current encoder's features, for example a kNN classifier's
	// validation AUC (eval.KNNMonitor): labels are used to watch, never to choose.
	Monitors []Monitor
	// Log receives one line per collapse measurement; nil prints none. A collapse warning
	// goes to Log, or to os.Stderr when Log is nil.
	Log io.Writer
	// Backend to run on (required): medssl.Backend().
	Backend compute.Backend
}

// Pretraining defaults, DefaultPretrainConfig's values.
const (
	DefaultPretrainEpochs  = 100
	DefaultPretrainBatch   = 128
	DefaultCheckpointEvery = 100
)

// DefaultPretrainConfig is RecipeAdam (Adam, learning rate 1e-3, decoupled weight decay
// 1e-6, constant), batch 128, 100 epochs, augment.MedicalDefault views, a checkpoint every
// 100 steps (when CheckpointDir is set) and a collapse measurement every epoch. Set
// Backend, Encoder and Method (and, for another recipe, Optimizer: see Recipe.For).
func DefaultPretrainConfig() PretrainConfig {
	adam, _ := RecipeAdam.For(NewSimCLR(), models.ResNet18(), DefaultPretrainBatch) // the same for every method
	return PretrainConfig{Augment: augment.MedicalDefault(), Epochs: DefaultPretrainEpochs, BatchSize: DefaultPretrainBatch,
		Optimizer: adam, CheckpointEvery: DefaultCheckpointEvery, MonitorEpochs: 1}
}

// Validate reports the first setting Pretrain cannot use, naming it.
func (c PretrainConfig) Validate() error {
	switch {
	case c.Encoder == nil || c.Method == nil:
		return errors.New("ssl: PretrainConfig needs an Encoder and a Method")
	case c.Backend == nil:
		return errors.New("ssl: PretrainConfig needs a Backend (medssl.Backend())")
	case c.Steps < 0 || c.Epochs < 0 || (c.Steps == 0 && c.Epochs == 0):
		return fmt.Errorf("ssl: Epochs %d and Steps %d: want Epochs > 0 or Steps > 0 (start from ssl.DefaultPretrainConfig())", c.Epochs, c.Steps)
	case c.BatchSize <= 0:
		return fmt.Errorf("ssl: BatchSize %d, want > 0 (start from ssl.DefaultPretrainConfig())", c.BatchSize)
	case c.CheckpointEvery < 0:
		return fmt.Errorf("ssl: CheckpointEvery %d, want >= 0", c.CheckpointEvery)
	case c.MonitorEpochs < 0 || c.MonitorSteps < 0:
		return fmt.Errorf("ssl: MonitorEpochs %d and MonitorSteps %d, want >= 0", c.MonitorEpochs, c.MonitorSteps)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return fmt.Errorf("ssl: %w (start from ssl.DefaultPretrainConfig())", err)
	}
	return nil
}

// Pretrained is the result of Pretrain: a store whose variables under
// models.EncoderScope are the trained encoder, loadable by every evaluation protocol.
type Pretrained struct {
	Store   *model.Store
	Encoder models.Encoder
	Method  string
	// Steps is the number of optimisation steps taken in total (including resumed ones).
	Steps int
	// Loss is the pretext loss after each step run in this call (a resumed run holds only
	// the steps it ran).
	Loss []float64
	// Collapse holds the collapse measurements taken in this call and Scores the Monitors'
	// (see PretrainConfig.MonitorEpochs).
	Collapse []Collapse
	Scores   []Score
}

// Pretrain trains cfg.Encoder with cfg.Method on the images of src (a *data.Split's labels
// are never read). It returns an error, never panics, for bad settings and graph errors.
func Pretrain(src data.Source, cfg PretrainConfig) (res *Pretrained, err error) {
	defer trainutil.Recover("ssl: pretrain", &err)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil || src.Len() == 0 {
		return nil, errors.New("ssl: pretrain: no images")
	}
	stepsPerEpoch := src.Len() / cfg.BatchSize
	if stepsPerEpoch == 0 {
		return nil, fmt.Errorf("ssl: pretrain: %d images are fewer than one batch of %d", src.Len(), cfg.BatchSize)
	}
	totalSteps := cfg.Steps
	if totalSteps == 0 {
		totalSteps = cfg.Epochs * stepsPerEpoch
	}
	monitorEvery := cfg.MonitorEpochs * stepsPerEpoch
	if cfg.MonitorSteps > 0 {
		monitorEvery = cfg.MonitorSteps
	}

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	var ckpt *checkpoint.Handler
	if cfg.CheckpointDir != "" {
		ckpt, err = checkpoint.Build(store).Dir(cfg.CheckpointDir).Keep(2).Done()
		if err != nil {
			return nil, fmt.Errorf("ssl: checkpoint %s: %w", cfg.CheckpointDir, err)
		}
		if err := checkRun(store, cfg); err != nil {
			return nil, err
		}
	}
	store.SetParam(ParamMethod, cfg.Method.Name())
	store.SetParam(ParamEncoder, cfg.Encoder.Name())
	store.SetParam(ParamTotalSteps, totalSteps)

	method, enc, aug := cfg.Method, cfg.Encoder, cfg.Augment
	modelFn := func(scope *model.Scope, images *graph.Node) *graph.Node {
		views := make([]*graph.Node, method.Views())
		for i := range views {
			t := aug
			if va, ok := method.(ViewAugmenter); ok {
				t = va.ViewAugment(aug, i)
			}
			views[i] = images
			if t != nil {
				views[i] = t.Apply(scope.In("augment_view%d", i), images)
			}
		}
		loss := method.Loss(scope, enc, views)
		train.AddMainLoss(loss)
		return loss
	}
	opt, err := optim.New(cfg.Optimizer, optim.Plan{StepsPerEpoch: stepsPerEpoch, TotalSteps: totalSteps})
	if err != nil {
		return nil, fmt.Errorf("ssl: %w", err)
	}
	trainer := train.NewTrainer(cfg.Backend, store, modelFn, nil, opt, nil, nil)
	loop := train.NewLoop(trainer)
	if cfg.Progress {
		commandline.AttachProgressBar(loop)
	}
	res = &Pretrained{Store: store, Encoder: enc, Method: method.Name()}
	var mon *monitor
	if monitorEvery > 0 {
		if mon, err = newMonitor(cfg, store, src); err != nil {
			return nil, err
		}
		defer mon.finalize()
	}
	loop.OnStep("medssl-loss", 0, func(_ *train.Loop, metrics []*tensors.Tensor) error {
		l, err := trainutil.Scalar(metrics[0])
		if err != nil {
			return err
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return fmt.Errorf("ssl: %s loss is %v at step %d: lower the learning rate", method.Name(), l, loop.LoopStep)
		}
		res.Loss = append(res.Loss, l)
		if done := loop.LoopStep + 1; mon != nil && (done%monitorEvery == 0 || done == totalSteps) {
			var c Collapse
			if mon.images != nil {
				if c, err = mon.measure(done, l); err != nil {
					return err
				}
				res.Collapse = append(res.Collapse, c)
			}
			scores, err := mon.scores(done)
			if err != nil {
				return err
			}
			res.Scores = append(res.Scores, scores...)
			mon.log(c, scores, method.Name())
		}
		return nil
	})
	// Augmentation randomness is reseeded from (seed, step) before every step, so a resumed
	// run draws exactly the views an uninterrupted one would, whatever else consumed the
	// store's random state in between (e.g. initialising variables a checkpoint lacks).
	loop.OnStep("medssl-reseed", 1000, func(l *train.Loop, _ []*tensors.Tensor) error {
		return store.SetRNGStateFromSeed(stepSeed(cfg.Seed, l.LoopStep+1))
	})
	if ckpt != nil && cfg.CheckpointEvery > 0 {
		train.EveryNSteps(loop, cfg.CheckpointEvery, "checkpoint", 100, ckpt.SaveOnStepFn)
	}

	start := int(optimizer.GetGlobalStep(store))
	if start < totalSteps {
		if err := store.SetRNGStateFromSeed(stepSeed(cfg.Seed, start)); err != nil {
			return nil, err
		}
		// A resumed run skips the batches already trained on, so it sees the same stream as
		// an uninterrupted run; the checkpoint restores weights and optimiser state.
		ds, err := src.ImageBatches(cfg.BatchSize, cfg.Seed, start)
		if err != nil {
			return nil, err
		}
		if _, err := loop.RunToGlobalStep(ds, totalSteps); err != nil {
			return nil, fmt.Errorf("ssl: pretrain %s: %w", method.Name(), err)
		}
		if ckpt != nil {
			if err := ckpt.Save(); err != nil {
				return nil, fmt.Errorf("ssl: saving checkpoint in %s: %w", cfg.CheckpointDir, err)
			}
		}
	}
	res.Steps = int(optimizer.GetGlobalStep(store))
	return res, nil
}

// checkRun refuses to resume a checkpoint written by another method or encoder.
func checkRun(store *model.Store, cfg PretrainConfig) error {
	for key, want := range map[string]string{ParamMethod: cfg.Method.Name(), ParamEncoder: cfg.Encoder.Name()} {
		if got, found := store.GetParam("/" + key); found && got != want {
			return fmt.Errorf("%w: %s has %s=%v, this run uses %q", ErrCheckpointMismatch, cfg.CheckpointDir, key, got, want)
		}
	}
	return nil
}

// stepSeed mixes a run's seed and a step number into the seed of that step's random state
// (SplitMix64's finaliser, so nearby steps get unrelated streams).
func stepSeed(seed int64, step int) int64 {
	z := uint64(seed)*0x9e3779b97f4a7c15 + uint64(step)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return int64(z ^ (z >> 31))
}
