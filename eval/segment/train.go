package segment

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ui/commandline"

	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// Model is a trained segmentation network: the encoder's variables (under
// models.EncoderScope) and the decoder's (under models.DecoderScope) of the validation
// with the best Dice, in Store, and the training history.
type Model struct {
	Store      *model.Store
	Encoder    models.Encoder
	NumClasses int
	// BestStep (1-based) is the step whose weights were kept, BestValDice its validation
	// Dice (the mean over volumes and foreground classes of the 3D Dice).
	BestStep    int
	BestValDice float64
	// ValSteps are the steps after which the model was validated, ValDice their validation
	// Dice, TrainLoss the mean training loss of the steps since the previous validation.
	ValSteps  []int
	ValDice   []float64
	TrainLoss []float64
	// Steps is the number of optimisation steps run.
	Steps int

	backend compute.Backend
}

// Backend returns the backend the model runs on.
func (m *Model) Backend() compute.Backend { return m.backend }

// network builds the segmenter's logits [B, H, W, K]. With frozen, the encoder runs in
// inference mode (batch norm on its stored statistics) and no gradient reaches it.
func network(scope *model.Scope, enc models.DenseEncoder, images *graph.Node, classes int, frozen bool) *graph.Node {
	g := images.Graph()
	encScope := scope.In(models.EncoderScope)
	var maps []*graph.Node
	if frozen {
		training := scope.IsTraining(g)
		scope.SetTraining(g, false)
		maps = enc.FeatureMaps(encScope, images)
		scope.SetTraining(g, training)
		for i, m := range maps {
			maps[i] = graph.StopGradient(m)
		}
	} else {
		maps = enc.FeatureMaps(encScope, images)
	}
	return models.UNetDecoder(scope.In(models.DecoderScope), maps, images, classes)
}

// checkSlices checks that train and val can be trained and validated on together.
func checkSlices(train, val *seg.Slices) error {
	switch {
	case train == nil || train.N() == 0:
		return errors.New("segment: no training slices")
	case val == nil || val.N() == 0 || len(val.Stacks) == 0:
		return errors.New("segment: no validation slices (model selection needs them)")
	case train.Height != val.Height || train.Width != val.Width:
		return fmt.Errorf("segment: training slices are %dx%d, validation slices %dx%d", train.Height, train.Width, val.Height, val.Width)
	case train.NumClasses < 2 || train.NumClasses != val.NumClasses:
		return fmt.Errorf("segment: %d classes in training, %d in validation (want the same, >= 2)", train.NumClasses, val.NumClasses)
	}
	return nil
}

// Train trains cfg.Encoder with a U-Net decoder on the labelled slices of train, from
// scratch or from cfg.Pretrained, validating on val every cfg.ValEvery steps and keeping
// the weights of the best validation Dice.
func Train(trainSlices, val *seg.Slices, cfg Config) (m *Model, err error) {
	defer trainutil.Recover("segment: train", &err)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkSlices(trainSlices, val); err != nil {
		return nil, err
	}
	enc, _ := models.DenseOf(cfg.Encoder)
	classes := trainSlices.NumClasses
	store, multipliers, err := newTrainingStore(cfg, trainSlices)
	if err != nil {
		return nil, err
	}
	total, stepsPerEpoch := cfg.TrainingSteps(trainSlices.N())
	valEvery := cfg.ValEvery
	if valEvery == 0 {
		valEvery = stepsPerEpoch
	}
	aug, frozen, dw, cw := cfg.Augment, cfg.FreezeEncoder, cfg.DiceWeight, cfg.CEWeight
	modelFn := func(scope *model.Scope, _ any, inputs []*graph.Node) []*graph.Node {
		images, masks := inputs[0], inputs[1]
		if aug != nil && scope.IsTraining(images.Graph()) {
			images, masks = aug.ApplyJoint(scope.In("augment"), images, masks)
		}
		loss := DiceCELoss(network(scope, enc, images, classes, frozen), masks, dw, cw)
		train.AddMainLoss(loss)
		return []*graph.Node{loss}
	}
	opt, err := optim.New(cfg.Optimizer, optim.Plan{StepsPerEpoch: stepsPerEpoch, TotalSteps: total, Multipliers: multipliers})
	if err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	trainer := train.NewTrainer(cfg.Backend, store, train.ModelFn(modelFn), nil, opt, nil, nil)
	loop := train.NewLoop(trainer)
	if cfg.Progress {
		commandline.AttachProgressBar(loop)
	}
	m = &Model{Store: store, Encoder: cfg.Encoder, NumClasses: classes, BestValDice: math.Inf(-1), backend: cfg.Backend}
	var lossSum float64
	var lossSteps int
	var best map[*model.Variable]*tensors.Tensor
	loop.OnStep("medssl-segment", 50, func(l *train.Loop, stepMetrics []*tensors.Tensor) error {
		v, err := trainutil.Scalar(stepMetrics[0])
		if err != nil {
			return err
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("segment: training loss is %v at step %d: lower the learning rate", v, l.LoopStep+1)
		}
		lossSum += v
		lossSteps++
		step := l.LoopStep + 1
		if step%valEvery != 0 && step != total {
			return nil
		}
		dice, err := m.valDice(val)
		if err != nil {
			return fmt.Errorf("validation: %w", err)
		}
		m.ValSteps, m.ValDice = append(m.ValSteps, step), append(m.ValDice, dice)
		m.TrainLoss = append(m.TrainLoss, lossSum/float64(lossSteps))
		lossSum, lossSteps = 0, 0
		if dice > m.BestValDice {
			m.BestValDice, m.BestStep = dice, step
			for _, t := range best {
				t.FinalizeAll()
			}
			if best, err = trainutil.CloneVariables(store, inNetwork); err != nil {
				return err
			}
		}
		return nil
	})
	ds, err := seg.NewBatches(trainSlices, min(cfg.BatchSize, trainSlices.N()), cfg.Seed)
	if err != nil {
		return nil, err
	}
	if _, err := loop.RunSteps(ds, total); err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	if best == nil {
		return nil, errors.New("segment: no validation ran")
	}
	m.Steps = total
	m.Store = model.NewStore()
	for v, t := range best {
		if _, err := m.Store.Scope(v.Scope()).CreateVariable(v.Name(), t); err != nil {
			return nil, fmt.Errorf("segment: keeping the best weights: %w", err)
		}
	}
	return m, nil
}

// valDice is the validation Dice: the mean over val's volumes of the mean 3D Dice of the
// foreground classes.
func (m *Model) valDice(val *seg.Slices) (float64, error) {
	pred, err := m.Predict(val)
	if err != nil {
		return 0, err
	}
	n := val.Height * val.Width
	var sum float64
	for i := range val.Stacks {
		st := &val.Stacks[i]
		grid, err := val.Restack(st, pred[st.First*n:(st.First+st.Count)*n])
		if err != nil {
			return 0, err
		}
		t, p := make([]bool, len(grid)), make([]bool, len(grid))
		var fg float64
		for k := 1; k < m.NumClasses; k++ {
			for j := range grid {
				t[j], p[j] = int(st.Truth[j]) == k, int(grid[j]) == k
			}
			d, err := metrics.Dice(t, p)
			if err != nil {
				return 0, err
			}
			fg += d
		}
		sum += fg / float64(m.NumClasses-1)
	}
	return sum / float64(len(val.Stacks)), nil
}

// PredictBatch is the number of slices of one inference call; the last call is padded to it
// so that one compiled graph serves every call.
const PredictBatch = 32

// Predict returns the predicted class of every pixel of every slice of s (argmax of the
// logits, in inference mode), N·Height·Width bytes in the order of s.Masks.
func (m *Model) Predict(s *seg.Slices) (out []uint8, err error) {
	defer trainutil.Recover("segment: predict", &err)
	if s == nil || s.N() == 0 {
		return nil, errors.New("segment: predict: no slices")
	}
	if s.NumClasses != m.NumClasses {
		return nil, fmt.Errorf("segment: predict: slices of %d classes for a model of %d", s.NumClasses, m.NumClasses)
	}
	enc, err := models.DenseOf(m.Encoder)
	if err != nil {
		return nil, err
	}
	classes := m.NumClasses
	exec, err := model.NewExec(m.backend, m.Store, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return graph.ArgMax(network(scope, enc, images, classes, false), -1, dtypes.Int32)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	n := s.Height * s.Width
	b := min(PredictBatch, s.N())
	out = make([]uint8, s.N()*n)
	buf := make([]float32, b*n)
	for start := 0; start < s.N(); start += b {
		end := min(start+b, s.N())
		for i := range b {
			src := s.Image(start) // padding rows repeat the first slice of the batch
			if start+i < end {
				src = s.Image(start + i)
			}
			for k, v := range src {
				buf[i*n+k] = float32(v) / 255
			}
		}
		res, err := exec.Call(tensors.FromFlatDataAndDimensions(buf, b, s.Height, s.Width, 1))
		if err != nil {
			return nil, err
		}
		classesOut, err := tensors.CopyFlatData[int32](res[0])
		for _, t := range res {
			t.FinalizeAll()
		}
		if err != nil {
			return nil, err
		}
		for k, v := range classesOut[:(end-start)*n] {
			out[start*n+k] = uint8(v)
		}
	}
	return out, nil
}

// newTrainingStore returns the store a training starts from: seeded, with the encoder copied
// from cfg.Pretrained (and the encoder's learning-rate multiplier: 0 when frozen).
func newTrainingStore(cfg Config, trainSlices *seg.Slices) (*model.Store, map[string]float64, error) {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	multipliers := map[string]float64{}
	if cfg.Pretrained == nil {
		if cfg.EncoderLRMultiplier != 1 {
			return nil, nil, fmt.Errorf("segment: EncoderLRMultiplier %v applies to a Pretrained encoder, and none is set", cfg.EncoderLRMultiplier)
		}
		return store, multipliers, nil
	}
	if cfg.Pretrained.Loader() != nil || isEmpty(cfg.Pretrained) {
		// A store restored from a checkpoint holds its variables until a graph asks for them;
		// an empty one (eval.RandomEncoder) gets a random encoder from its seed, the floor a
		// pretrained encoder must beat.
		if err := loadEncoder(cfg, trainSlices); err != nil {
			return nil, nil, fmt.Errorf("segment: loading the pretrained encoder: %w", err)
		}
	}
	n, err := trainutil.CopyVariables(cfg.Pretrained, store, trainutil.InScope("/"+models.EncoderScope))
	if err != nil {
		return nil, nil, fmt.Errorf("segment: %w", err)
	}
	if n == 0 {
		return nil, nil, fmt.Errorf("segment: the pretrained store has no variables under /%s", models.EncoderScope)
	}
	multipliers["/"+models.EncoderScope] = cfg.EncoderLRMultiplier
	if cfg.FreezeEncoder {
		multipliers["/"+models.EncoderScope] = 0
	}
	return store, multipliers, nil
}

// loadEncoder builds the encoder once on one slice with cfg.Pretrained's variables, so that
// variables a checkpoint restores lazily are loaded into the store.
func loadEncoder(cfg Config, s *seg.Slices) error {
	exec, err := model.NewExec(cfg.Backend, cfg.Pretrained, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return cfg.Encoder.Encode(scope.In(models.EncoderScope), images)
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	img := make([]float32, s.Height*s.Width)
	for k, v := range s.Image(0) {
		img[k] = float32(v) / 255
	}
	out, err := exec.Call(tensors.FromFlatDataAndDimensions(img, 1, s.Height, s.Width, 1))
	if err != nil {
		return err
	}
	for _, t := range out {
		t.FinalizeAll()
	}
	return nil
}

// isEmpty tells whether a store holds no variables (parameters aside).
func isEmpty(store *model.Store) bool {
	for range store.IterVariables() {
		return false
	}
	return true
}

// inNetwork tells whether v is part of the segmenter (encoder or decoder).
func inNetwork(v *model.Variable) bool {
	return trainutil.UnderScope(v, "/"+models.EncoderScope) || trainutil.UnderScope(v, "/"+models.DecoderScope)
}
