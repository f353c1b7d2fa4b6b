package supervised

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

func breast(t *testing.T) *data.Dataset {
	t.Helper()
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func valAUC(t *testing.T, clf *Classifier, split *data.Split) float64 {
	t.Helper()
	probs, err := clf.Predict(split)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := eval.AUC(toInts(split.Labels), toFloat64(probs))
	if err != nil {
		t.Fatal(err)
	}
	return auc
}

// Train must keep the epoch with the best validation AUC: predicting the validation split
// with the returned classifier gives exactly that AUC.
func TestTrainKeepsBestValidationEpoch(t *testing.T) {
	ds := breast(t)
	cfg := Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}, Epochs: 6, BatchSize: 64, Seed: 3}
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(clf.ValAUC) != 6 || len(clf.TrainLoss) != 6 {
		t.Fatalf("history: %d val AUCs, %d losses, want 6 each", len(clf.ValAUC), len(clf.TrainLoss))
	}
	// Exact epochs: ⌈546/64⌉ = 9 batches each, the last one of 34 images.
	if steps := optimizer.GetGlobalStep(clf.Final.Store); steps != 6*9 {
		t.Errorf("trained %d steps, want 6 epochs of 9 batches", steps)
	}
	best := math.Inf(-1)
	for _, a := range clf.ValAUC {
		best = math.Max(best, a)
	}
	if clf.BestValAUC != best || clf.ValAUC[clf.BestEpoch-1] != best {
		t.Fatalf("best epoch %d AUC %v, history %v", clf.BestEpoch, clf.BestValAUC, clf.ValAUC)
	}
	if got := valAUC(t, clf, ds.Val); math.Abs(got-best) > 1e-6 {
		t.Errorf("restored classifier has val AUC %v, best epoch had %v", got, best)
	}
	// Final keeps the last epoch: it reproduces that epoch's validation AUC.
	if got, last := valAUC(t, clf.Final, ds.Val), clf.ValAUC[len(clf.ValAUC)-1]; math.Abs(got-last) > 1e-6 {
		t.Errorf("final classifier has val AUC %v, last epoch had %v", got, last)
	}
	if clf.TrainLoss[len(clf.TrainLoss)-1] >= clf.TrainLoss[0] {
		t.Errorf("training loss did not fall: %v", clf.TrainLoss)
	}
	if best < 0.6 {
		t.Errorf("best validation AUC %v: a conv net on BreastMNIST should beat 0.6 in 6 epochs", best)
	}
}

func variableValues(t *testing.T, store *model.Store, prefix string) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if len(v.Scope()) < len(prefix) || v.Scope()[:len(prefix)] != prefix {
			continue
		}
		val := v.MustValue()
		if flat, err := tensors.CopyFlatData[float32](val); err == nil {
			out[v.Path()] = flat
		}
	}
	return out
}

// pretrainedStore builds a store with encoder weights as Pretrain would leave them (here:
// one supervised run, whose encoder scope is the same).
func pretrainedStore(t *testing.T, ds *data.Dataset) *model.Store {
	t.Helper()
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}, Epochs: 1, BatchSize: 64, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	return clf.Store
}

// Fine-tuning with an encoder learning-rate multiplier of 0 must start from the pretrained
// weights and leave them untouched, while the head trains.
func TestFineTuneLoadsAndFreezesEncoder(t *testing.T) {
	ds := breast(t)
	pre := pretrainedStore(t, ds)
	before := variableValues(t, pre, "/"+models.EncoderScope)
	cfg := Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}, Epochs: 2, BatchSize: 64, Seed: 4,
		Pretrained: pre, EncoderLRMultiplier: 1e-30}
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	after := variableValues(t, clf.Store, "/"+models.EncoderScope)
	checked := 0
	for path, want := range before {
		got, ok := after[path]
		if !ok {
			t.Fatalf("fine-tuned store lacks %s", path)
		}
		if !isTrainableWeight(path) {
			continue // batch-norm running averages still update in training mode
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("%s[%d] moved from %v to %v with a ~0 encoder learning rate", path, i, want[i], got[i])
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no encoder weights compared")
	}
	// And the pretrained store itself was not modified by fine-tuning.
	if again := variableValues(t, pre, "/"+models.EncoderScope); len(again) != len(before) {
		t.Fatal("pretrained store changed")
	}
}

func isTrainableWeight(path string) bool {
	n := len(path)
	return n >= 7 && (path[n-7:] == "weights" || (n >= 6 && path[n-6:] == "biases") || (n >= 5 && (path[n-5:] == "scale" || path[n-5:] == "shift")))
}

// A linear probe trains only a head on frozen features and keeps its best epoch.
func TestLinearProbe(t *testing.T) {
	ds := breast(t)
	pre := pretrainedStore(t, ds)
	before := variableValues(t, pre, "/")
	cfg := Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}, Epochs: 20, BatchSize: 128, Seed: 5, LearningRate: 1e-2}
	clf, err := LinearProbe(ds.Train, ds.Val, ds.NumClasses, pre, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := valAUC(t, clf, ds.Val); math.Abs(got-clf.BestValAUC) > 1e-6 {
		t.Errorf("restored probe has val AUC %v, best epoch had %v", got, clf.BestValAUC)
	}
	after := variableValues(t, pre, "/")
	for path, want := range before {
		got := after[path]
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("linear probe changed the pretrained variable %s", path)
			}
		}
	}
	m, err := clf.Evaluate(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != ds.Test.N {
		t.Errorf("evaluated %d test images, want %d", m.N, ds.Test.N)
	}
}

func TestTrainRejectsBadInput(t *testing.T) {
	ds := breast(t)
	if _, err := Train(ds.Train, nil, 2, Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}}); err == nil {
		t.Error("missing validation split accepted")
	}
	if _, err := Train(ds.Train, ds.Val, 2, Config{Encoder: testutil.SmallEncoder{Width: 16}}); err == nil {
		t.Error("missing backend accepted")
	}
	if _, err := LinearProbe(ds.Train, ds.Val, 2, nil, Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}}); err == nil {
		t.Error("linear probe without pretrained store accepted")
	}
}
