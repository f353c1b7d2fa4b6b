package supervised

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// MIL training defaults.
const (
	// MILBatchBags is DefaultMILConfig's batch size in bags: 8 bags of 16 slices are 128
	// slices per step, the 2D protocol's batch.
	MILBatchBags = 8
	// MILSlicesDefault caps the default number of slices drawn per training bag.
	MILSlicesDefault = 16
)

// MILClassifier classifies bags of 2D slices (one per scan or patient): the encoder
// encodes every slice, gated attention pools them (models.AttentionMIL) and a linear
// head classifies the pooled feature. Store holds the variables of the epoch with the
// best validation AUC; Final those of the last epoch.
type MILClassifier struct {
	Store      *model.Store
	Encoder    models.Encoder
	NumClasses int
	// SlicesPerBag is the number of slices drawn per bag in each training step.
	SlicesPerBag int
	// BestEpoch (1-based) and its validation AUC; TrainLoss holds every epoch, ValAUC every
	// validation (each epoch, or every Config.ValidationEvery epochs of a stretched run).
	BestEpoch  int
	BestValAUC float64
	ValAUC     []float64
	TrainLoss  []float64
	Final      *MILClassifier

	backend compute.Backend
}

// DefaultMILConfig is DefaultConfig with a batch of MILBatchBags bags.
func DefaultMILConfig() Config {
	c := DefaultConfig()
	c.BatchSize = MILBatchBags
	return c
}

// MILOption configures TrainMIL beyond Config.
type MILOption func(*milSettings)

type milSettings struct{ slices int }

// MILSlices sets the number of slices drawn per bag in each training step (default
// min(MILSlicesDefault, longest training bag)); see data.BagBatches for the draw.
func MILSlices(n int) MILOption { return func(s *milSettings) { s.slices = n } }

// milLogits builds the MIL classifier graph: attention-pooled bag features, then the
// linear head under HeadScope. mask may be nil.
func milLogits(scope *model.Scope, enc models.Encoder, bags, mask *graph.Node, numClasses int) (logits, attn *graph.Node) {
	feats, attn := models.AttentionMILMasked(scope, enc, bags, mask)
	return head(scope, feats, numClasses), attn
}

// TrainMIL trains cfg.Encoder with attention-based MIL pooling and a linear head on the
// bag labels of trainBags, from scratch or from cfg.Pretrained (a 2D encoder's store:
// its variables under models.EncoderScope load by name), keeping the epoch with the
// best AUC on valBags, whose bags are scored with all their slices.
//
// Config applies as in Train, in bags: BatchSize counts bags (default MILBatchBags),
// Augment transforms each slice, TrainableFrom freezes the encoder's early layers. Each
// step draws SlicesPerBag slices of every bag (MILSlices).
func TrainMIL(trainBags, valBags *data.Bags, cfg Config, opts ...MILOption) (clf *MILClassifier, err error) {
	defer trainutil.Recover("supervised: TrainMIL", &err)
	if err := cfg.validateImages(); err != nil {
		return nil, err
	}
	if trainBags == nil || valBags == nil {
		return nil, errors.New("supervised: TrainMIL needs training and validation bags")
	}
	if err := trainBags.Validate(); err != nil {
		return nil, fmt.Errorf("supervised: TrainMIL training bags: %w", err)
	}
	if err := valBags.Validate(); err != nil {
		return nil, fmt.Errorf("supervised: TrainMIL validation bags: %w", err)
	}
	numClasses := trainBags.NumClasses
	if valBags.NumClasses != numClasses {
		return nil, fmt.Errorf("supervised: TrainMIL: %d training classes but %d validation classes", numClasses, valBags.NumClasses)
	}
	set := milSettings{slices: min(MILSlicesDefault, trainBags.MaxLen())}
	for _, o := range opts {
		o(&set)
	}
	if set.slices < 1 {
		return nil, fmt.Errorf("supervised: TrainMIL: %d slices per bag, want >= 1", set.slices)
	}

	store, multipliers, frozen, err := newTrainingStore(cfg, trainBags.Slices)
	if err != nil {
		return nil, err
	}

	enc, aug := cfg.Encoder, cfg.Augment
	modelFn := func(scope *model.Scope, bags *graph.Node) *graph.Node {
		g := bags.Graph()
		if len(frozen) > 0 && scope.IsTraining(g) {
			freeze(scope, g, frozen)
		}
		if aug != nil && scope.IsTraining(g) {
			d := bags.Shape().Dimensions
			slices := aug.Apply(scope.In("augment"), graph.Reshape(bags, d[0]*d[1], d[2], d[3], d[4]))
			bags = graph.Reshape(slices, d...)
		}
		logits, _ := milLogits(scope, enc, bags, nil, numClasses)
		return logits
	}
	batch := min(cfg.BatchSize, trainBags.Len())
	ds, err := data.NewBagBatches(trainBags, batch, set.slices, cfg.Seed)
	if err != nil {
		return nil, err
	}
	clf = &MILClassifier{Encoder: enc, NumClasses: numClasses, SlicesPerBag: set.slices, backend: cfg.Backend}
	// fit trains and fills a Classifier's history; the MIL classifier takes it over.
	var hist Classifier
	hist.Store = store
	predictVal := func() ([][]float32, error) {
		probs, _, err := predictBags(cfg.Backend, store, enc, numClasses, valBags)
		return probs, err
	}
	counts := make([]int, numClasses)
	for _, l := range trainBags.Labels {
		counts[l]++
	}
	if cfg.Remedy.Oversample {
		return nil, errors.New("supervised: TrainMIL: class-balanced resampling of bags is not supported; use a class-weighted or focal Remedy")
	}
	tgt := target{numClasses: numClasses, n: trainBags.Len(), counts: counts}
	if err := fit(store, &hist, modelFn, cfg, multipliers, ds, tgt, predictVal, valBags.Labels); err != nil {
		return nil, err
	}
	final := *clf
	final.Store = hist.Final.Store
	clf.Store = hist.Store
	for _, c := range []*MILClassifier{clf, &final} {
		c.BestEpoch, c.BestValAUC, c.ValAUC, c.TrainLoss = hist.BestEpoch, hist.BestValAUC, hist.ValAUC, hist.TrainLoss
	}
	clf.Final = &final
	return clf, nil
}

// PredictWithAttention returns, for every bag, the class probabilities [C] and the
// attention weights over its slices (in bag order, summing to 1), in inference mode.
// Every slice of every bag is used: bags are padded to the longest one with a mask.
func (c *MILClassifier) PredictWithAttention(bags *data.Bags) (probs, attn [][]float32, err error) {
	defer trainutil.Recover("supervised: MIL predict", &err)
	if err := bags.Validate(); err != nil {
		return nil, nil, fmt.Errorf("supervised: MIL predict: %w", err)
	}
	return predictBags(c.backend, c.Store, c.Encoder, c.NumClasses, bags)
}

// Predict returns the class probabilities [bags][C] of every bag.
func (c *MILClassifier) Predict(bags *data.Bags) ([][]float32, error) {
	probs, _, err := c.PredictWithAttention(bags)
	return probs, err
}

// Evaluate predicts the bags and computes their metrics against the bag labels.
func (c *MILClassifier) Evaluate(bags *data.Bags) (metrics.Metrics, error) {
	probs, err := c.Predict(bags)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return metrics.Compute(bags.IntLabels(), metrics.FromFloat32(probs))
}

// predictBags runs the MIL classifier on every bag, padded to the longest bag with
// copies of the bag's first slice under mask 0, in calls of as many bags as fit in
// models.InferBatch slices; the last call is padded with copies of bag 0 so one compiled graph
// serves all.
func predictBags(backend compute.Backend, store *model.Store, enc models.Encoder, numClasses int, bags *data.Bags) (probs, attn [][]float32, err error) {
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, mask *graph.Node) (*graph.Node, *graph.Node) {
		logits, a := milLogits(scope, enc, x, mask, numClasses)
		return graph.Softmax(logits, -1), a
	})
	if err != nil {
		return nil, nil, err
	}
	defer exec.Finalize()
	sp := bags.Slices
	n, s := bags.Len(), bags.MaxLen()
	per := min(n, max(1, models.InferBatch/s))
	for start := 0; start < n; start += per {
		idx := make([]int, 0, per*s)
		mask := make([]float32, per*s)
		for j := range per {
			k := start + j
			if k >= n {
				k = 0
			}
			bag := bags.Bags[k]
			for i := range s {
				if i < len(bag) {
					idx = append(idx, bag[i])
					mask[j*s+i] = 1
				} else {
					idx = append(idx, bag[0])
				}
			}
		}
		x := tensors.FromFlatDataAndDimensions(sp.ImagesFloat32(idx), per, s, sp.Height, sp.Width, sp.Channels)
		res, err := exec.Call(x, tensors.FromFlatDataAndDimensions(mask, per, s))
		if err != nil {
			return nil, nil, err
		}
		p, err := rows(res[0])
		if err != nil {
			return nil, nil, err
		}
		a, err := rows(res[1])
		if err != nil {
			return nil, nil, err
		}
		for j := 0; j < per && start+j < n; j++ {
			probs = append(probs, p[j])
			attn = append(attn, a[j][:len(bags.Bags[start+j])])
		}
	}
	return probs, attn, nil
}
