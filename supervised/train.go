package supervised

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ui/commandline"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
)

// HeadScope is the scope of the linear classification head on top of the encoder.
const HeadScope = "head"

// Backend returns the backend the classifier runs on.
func (c *Classifier) Backend() compute.Backend { return c.backend }

// Classifier is a trained classifier: the encoder and head variables (of the epoch with the
// best validation AUC) in Store, and its training history.
type Classifier struct {
	Store      *model.Store
	Encoder    models.Encoder // nil for a classifier on features (TrainLinear)
	NumClasses int            // classes, or labels when MultiLabel
	// MultiLabel marks a classifier of independent 0/1 labels (trained on a multi-label
	// split): its head gives one logit per label, Predict their sigmoids, and BestValAUC
	// is the validation macro AUC (metrics.MultiLabelAUC).
	MultiLabel bool
	// Epochs is the number of epochs trained (Config.RunEpochs); TrainLoss holds each one's
	// mean loss. ValAUC holds the validation AUC after each epoch of ValEpochs (1-based):
	// every epoch, or every Config.ValidationEvery epochs and the last. BestEpoch is the
	// epoch of the best of them, BestValAUC its AUC.
	Epochs     int
	TrainLoss  []float64
	ValAUC     []float64
	ValEpochs  []int
	BestEpoch  int
	BestValAUC float64
	// Final is the same classifier with the weights of the last epoch instead of the best
	// one, for comparing the two selection rules (MedMNIST's reference script, which
	// assigns best_model = model without a copy, in effect reports the last epoch).
	Final *Classifier

	backend compute.Backend
}

// head is the linear classification head on features [B, F], under HeadScope.
func head(scope *model.Scope, feats *graph.Node, numClasses int) *graph.Node {
	return layers.DenseWithBias(scope.In(HeadScope), feats, numClasses)
}

// ApplyHead builds the classifier's linear head on features [B, F] under HeadScope of scope
// and returns its logits [B, NumClasses]: with the encoder applied under
// models.EncoderScope, it rebuilds the classifier's graph outside this package, as
// explanations (eval/explain) do to differentiate a class score.
func (c *Classifier) ApplyHead(scope *model.Scope, feats *graph.Node) *graph.Node {
	return head(scope, feats, c.NumClasses)
}

// logits builds the classifier graph: encoder features, then the linear head.
func logits(scope *model.Scope, enc models.Encoder, images *graph.Node, numClasses int) *graph.Node {
	return head(scope, enc.Encode(scope.In(models.EncoderScope), images), numClasses)
}

// Train trains cfg.Encoder with a linear head on trainSplit's labels, from scratch or from
// cfg.Pretrained, keeping the epoch with the best AUC on valSplit.
//
// A multi-label split (data.Split.MultiLabel; numClasses is then its number of labels)
// trains one logit per label with binary cross-entropy (see MultiLabelLoss; the
// "weighted" and "focal" remedies weigh each label's positives by its negatives over its
// positives), predicts sigmoids, and selects the epoch by the validation macro AUC over
// the labels with both classes in the validation split (metrics.MultiLabelAUC).
func Train(trainSplit, valSplit *data.Split, numClasses int, cfg Config) (clf *Classifier, err error) {
	defer trainutil.Recover("supervised: train", &err)
	if err := cfg.validateImages(); err != nil {
		return nil, err
	}
	tgt, err := checkSplits(trainSplit, valSplit, numClasses)
	if err != nil {
		return nil, err
	}
	if err := cfg.Remedy.check(tgt); err != nil {
		return nil, err
	}
	store, multipliers, frozen, err := newTrainingStore(cfg, trainSplit)
	if err != nil {
		return nil, err
	}

	enc, aug := cfg.Encoder, cfg.Augment
	modelFn := func(scope *model.Scope, images *graph.Node) *graph.Node {
		g := images.Graph()
		if len(frozen) > 0 && scope.IsTraining(g) {
			freeze(scope, g, frozen)
		}
		if aug != nil && scope.IsTraining(g) {
			images = aug.Apply(scope.In("augment"), images)
		}
		return logits(scope, enc, images, numClasses)
	}
	clf = &Classifier{Store: store, Encoder: enc, NumClasses: numClasses, MultiLabel: tgt.multiLabel, backend: cfg.Backend}
	predictFn := func(scope *model.Scope, images *graph.Node) *graph.Node {
		return probabilities(logits(scope, enc, images, numClasses), tgt.multiLabel)
	}
	// Exact epochs with a smaller last batch, as the MedMNIST protocol (PyTorch's DataLoader
	// default) trains; the last batch's shape costs one more graph compilation.
	opts := []data.BatchOption{data.WithShuffle(cfg.Seed)}
	if cfg.Remedy.Oversample {
		opts = append(opts, data.WithClassBalance())
	}
	ds, err := data.NewBatches(trainSplit, min(cfg.BatchSize, trainSplit.N), opts...)
	if err != nil {
		return nil, err
	}
	err = fit(store, clf, modelFn, cfg, multipliers, ds, tgt,
		func() ([][]float32, error) { return models.Infer(cfg.Backend, store, valSplit, predictFn) },
		valSplit.Labels)
	if err != nil {
		return nil, err
	}
	return clf, nil
}

// target is what a classifier learns: one of numClasses classes, or numClasses independent
// 0/1 labels, with the training set's size n and counts (examples per class, or positives
// per label), from which the remedies' weights come.
type target struct {
	multiLabel bool
	numClasses int
	n          int
	counts     []int
}

// probabilities turns logits into what Predict returns: softmax over classes, or each
// label's sigmoid.
func probabilities(logits *graph.Node, multiLabel bool) *graph.Node {
	if multiLabel {
		return graph.Sigmoid(logits)
	}
	return graph.Softmax(logits, -1)
}

// fit runs the training loop shared by Train, TrainLinear and TrainMIL: cfg's optimiser
// and schedule over the steps of RunEpochs(n), cfg's remedy's loss (class weights, or
// per-label positive weights, from tgt's counts), the validation AUC after every epoch,
// and the best epoch's weights restored. ds yields one epoch per Iter, ⌈n/batch⌉ batches,
// the last one possibly smaller.
func fit(store *model.Store, clf *Classifier, modelFn func(*model.Scope, *graph.Node) *graph.Node, cfg Config, multipliers map[string]float64,
	ds train.Dataset, tgt target, predictVal func() ([][]float32, error), valLabels []int32) error {
	n := tgt.n
	epochs, stepsPerEpoch := cfg.RunEpochs(n)
	validateEvery := cfg.ValidationEvery(n)
	clf.Epochs = epochs
	opt, err := optim.New(cfg.Optimizer, optim.Plan{StepsPerEpoch: stepsPerEpoch, TotalSteps: epochs * stepsPerEpoch, Multipliers: multipliers})
	if err != nil {
		return fmt.Errorf("supervised: %w", err)
	}
	var weights []float64
	if w := cfg.Remedy.Weighting; w != "" && w != Unweighted {
		if tgt.multiLabel {
			weights = PositiveWeights(tgt.counts, n)
		} else {
			weights = ClassWeights(w, cfg.Remedy.Beta, tgt.counts)
		}
	}
	gamma := cfg.Remedy.FocalGamma
	lossFn := func(labels, predictions []*graph.Node) *graph.Node {
		if tgt.multiLabel {
			return MultiLabelLoss(predictions[0], labels[0], weights, gamma)
		}
		return lossNode(predictions[0], labels[0], weights, gamma)
	}
	trainer := train.NewTrainer(cfg.Backend, store, modelFn, lossFn, opt, nil, nil)
	loop := train.NewLoop(trainer)
	if cfg.Progress {
		commandline.AttachProgressBar(loop)
	}
	var epochLoss float64
	var epochSteps int
	var best map[*model.Variable]*tensors.Tensor
	clf.BestValAUC = math.Inf(-1)
	loop.OnStep("medssl-epoch", 50, func(l *train.Loop, stepMetrics []*tensors.Tensor) error {
		v, err := trainutil.Scalar(stepMetrics[0])
		if err != nil {
			return err
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("supervised: training loss is %v at step %d: lower the learning rate", v, l.LoopStep)
		}
		epochLoss += v
		epochSteps++
		if (l.LoopStep+1)%stepsPerEpoch != 0 {
			return nil
		}
		clf.TrainLoss = append(clf.TrainLoss, epochLoss/float64(epochSteps))
		epochLoss, epochSteps = 0, 0
		epoch := len(clf.TrainLoss)
		if epoch%validateEvery != 0 && epoch != epochs {
			return nil
		}
		probs, err := predictVal()
		if err != nil {
			return fmt.Errorf("validation: %w", err)
		}
		auc, err := validationAUC(tgt, valLabels, probs)
		if err != nil {
			return fmt.Errorf("validation AUC: %w", err)
		}
		clf.ValAUC, clf.ValEpochs = append(clf.ValAUC, auc), append(clf.ValEpochs, epoch)
		if auc > clf.BestValAUC {
			clf.BestValAUC, clf.BestEpoch = auc, epoch
			best, err = snapshot(store, best)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := loop.RunEpochs(ds, epochs); err != nil {
		return fmt.Errorf("supervised: %w", err)
	}
	if best == nil {
		return errors.New("supervised: no epoch completed")
	}
	// The trained store keeps the last epoch's weights (clf.Final); the best epoch's go
	// into a store of their own.
	final := *clf
	clf.Final = &final
	clf.Store = model.NewStore()
	for v, t := range best {
		if _, err := clf.Store.Scope(v.Scope()).CreateVariable(v.Name(), t); err != nil {
			return fmt.Errorf("supervised: keeping the best epoch: %w", err)
		}
	}
	return nil
}

// newTrainingStore returns the store a training starts from: seeded, with the encoder copied
// from cfg.Pretrained when fine-tuning (and its learning-rate multiplier), and the paths of
// the variables TrainableFrom keeps frozen. split is only used to build the encoder once.
func newTrainingStore(cfg Config, split *data.Split) (store *model.Store, multipliers map[string]float64, frozen []string, err error) {
	store = model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	multipliers = map[string]float64{}
	if cfg.Pretrained != nil {
		if cfg.Pretrained.Loader() != nil {
			// A store restored from a checkpoint (e.g. a resumed ssl.Pretrain) holds its
			// variables until a graph asks for them: load the encoder's before copying it.
			if err := buildEncoder(cfg.Backend, cfg.Pretrained, cfg.Encoder, split); err != nil {
				return nil, nil, nil, fmt.Errorf("supervised: loading the pretrained encoder: %w", err)
			}
		}
		n, err := trainutil.CopyVariables(cfg.Pretrained, store, trainutil.InScope("/"+models.EncoderScope))
		if err != nil {
			return nil, nil, nil, err
		}
		if n == 0 {
			return nil, nil, nil, fmt.Errorf("supervised: pretrained store has no variables under /%s", models.EncoderScope)
		}
		multipliers["/"+models.EncoderScope] = cfg.EncoderLRMultiplier
		if cfg.EncoderLRMultiplier == 0 {
			// A frozen encoder keeps its batch-norm running averages too, which no learning
			// rate reaches: every encoder variable is restored after each step.
			for v := range store.IterVariables() {
				if trainutil.UnderScope(v, "/"+models.EncoderScope) {
					frozen = append(frozen, v.Path())
				}
			}
			return store, multipliers, frozen, nil
		}
	} else if cfg.EncoderLRMultiplier != 1 {
		return nil, nil, nil, fmt.Errorf("supervised: EncoderLRMultiplier %v applies to a Pretrained encoder, and none is set", cfg.EncoderLRMultiplier)
	}
	if cfg.TrainableFrom != "" {
		if cfg.Pretrained == nil {
			return nil, nil, nil, fmt.Errorf("supervised: TrainableFrom %q needs a Pretrained encoder", cfg.TrainableFrom)
		}
		if frozen, err = FrozenVariables(cfg.Backend, cfg.Encoder, split, cfg.TrainableFrom); err != nil {
			return nil, nil, nil, err
		}
	}
	return store, multipliers, frozen, nil
}

// trainedScopes are the scopes whose variables make the classifier (what the best-epoch
// snapshot keeps), attention-MIL pooling included.
var trainedScopes = []string{"/" + models.EncoderScope, "/" + HeadScope, "/" + models.MILScope}

func inTrainedScope(v *model.Variable) bool {
	for _, p := range trainedScopes {
		if trainutil.UnderScope(v, p) {
			return true
		}
	}
	return false
}

// snapshot copies the classifier's variables, freeing the previous snapshot.
func snapshot(store *model.Store, prev map[*model.Variable]*tensors.Tensor) (map[*model.Variable]*tensors.Tensor, error) {
	for _, t := range prev {
		t.FinalizeAll()
	}
	return trainutil.CloneVariables(store, inTrainedScope)
}

// checkSplits checks the training and validation splits against numClasses and each
// other, naming the split at fault, and returns what they ask the classifier to learn.
func checkSplits(trainSplit, valSplit *data.Split, numClasses int) (target, error) {
	if trainSplit == nil || trainSplit.N == 0 {
		return target{}, errors.New("supervised: empty training split")
	}
	if valSplit == nil || valSplit.N == 0 {
		return target{}, errors.New("supervised: empty validation split (model selection needs one)")
	}
	if numClasses < 2 {
		return target{}, fmt.Errorf("supervised: need at least 2 classes, got %d", numClasses)
	}
	// In this order, so that the error names the training split first (a map's order varies).
	for _, part := range []struct {
		what string
		s    *data.Split
	}{{"training", trainSplit}, {"validation", valSplit}} {
		what, s := part.what, part.s
		if err := s.CheckLabels(); err != nil {
			return target{}, fmt.Errorf("supervised: %s split: %w", what, err)
		}
		if s.MultiLabel() != trainSplit.MultiLabel() {
			return target{}, fmt.Errorf("supervised: the training split %q has %d labels per image, the validation split %q %d", trainSplit.Name, trainSplit.LabelDim, valSplit.Name, valSplit.LabelDim)
		}
		if s.MultiLabel() && s.LabelDim != numClasses {
			return target{}, fmt.Errorf("supervised: %s split %q has %d labels per image, numClasses is %d", what, s.Name, s.LabelDim, numClasses)
		}
	}
	tgt := target{multiLabel: trainSplit.MultiLabel(), numClasses: numClasses, n: trainSplit.N, counts: trainSplit.ClassCounts()}
	if tgt.multiLabel {
		if err := checkScorable(valSplit.Labels, numClasses, valSplit.Name); err != nil {
			return target{}, err
		}
	} else if len(tgt.counts) < numClasses {
		tgt.counts = append(tgt.counts, make([]int, numClasses-len(tgt.counts))...)
	}
	return tgt, nil
}

func toInts(labels []int32) []int {
	out := make([]int, len(labels))
	for i, l := range labels {
		out[i] = int(l)
	}
	return out
}
