package supervised

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/dataset"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// probeInput remembers what a linear probe needs to classify new images: the frozen
// encoder and the store holding its weights.
type probeInput struct {
	encStore *model.Store
	enc      models.Encoder
}

// LinearProbe trains a linear classifier on the frozen features of a pretrained encoder
// (weights under models.EncoderScope in pretrained). The encoder runs once per split in
// inference mode, so its weights and batch-norm statistics stay frozen; only the linear
// head is trained, with cfg's optimiser settings and best-validation-AUC model selection.
// cfg.Encoder is the pretrained architecture; cfg.Augment is ignored (features are fixed).
func LinearProbe(trainSplit, valSplit *data.Split, numClasses int, pretrained *model.Store, cfg Config) (clf *Classifier, err error) {
	defer trainutil.Recover("supervised: linear probe", &err)
	if err := cfg.withDefaults(); err != nil {
		return nil, err
	}
	if err := checkSplits(trainSplit, valSplit, numClasses); err != nil {
		return nil, err
	}
	if pretrained == nil {
		return nil, fmt.Errorf("supervised: linear probe needs a pretrained store")
	}
	trainFeats, err := Features(cfg.Backend, pretrained, cfg.Encoder, trainSplit)
	if err != nil {
		return nil, err
	}
	valFeats, err := Features(cfg.Backend, pretrained, cfg.Encoder, valSplit)
	if err != nil {
		return nil, err
	}
	return probeOnFeatures(trainFeats, trainSplit.Labels, valFeats, valSplit.Labels, numClasses, pretrained, cfg)
}

// probeOnFeatures trains the linear head on precomputed features (cfg already defaulted).
func probeOnFeatures(trainFeats [][]float32, trainLabels []int32, valFeats [][]float32, valLabels []int32,
	numClasses int, pretrained *model.Store, cfg Config) (clf *Classifier, err error) {
	n := len(trainFeats)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	clf = &Classifier{Store: store, NumClasses: numClasses, backend: cfg.Backend,
		probe: &probeInput{encStore: pretrained, enc: cfg.Encoder}}
	batch := min(cfg.BatchSize, n)
	ds, err := dataset.InMemoryFromData(cfg.Backend, "features", []any{trainFeats}, []any{trainLabels})
	if err != nil {
		return nil, fmt.Errorf("supervised: linear probe: %w", err)
	}
	ds = ds.BatchSize(batch, false).Shuffle().WithRand(newRand(cfg.Seed))
	modelFn := func(scope *model.Scope, feats *graph.Node) *graph.Node {
		return head(scope, feats, numClasses)
	}
	predictVal := func() ([][]float32, error) {
		return predictFeatures(clf, valFeats)
	}
	if err := fit(store, clf, modelFn, cfg, nil, ds, n, predictVal, valLabels); err != nil {
		return nil, err
	}
	return clf, nil
}

// predictFeatures applies the linear head to precomputed features.
func predictFeatures(clf *Classifier, feats [][]float32) ([][]float32, error) {
	exec, err := model.NewExec(clf.backend, clf.Store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return graph.Softmax(head(scope, x, clf.NumClasses), -1)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out, err := exec.Call(feats)
	if err != nil {
		return nil, err
	}
	return rows(out[0])
}
