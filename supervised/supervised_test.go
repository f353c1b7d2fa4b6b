package supervised

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// testConfig is DefaultConfig on the small test encoder with a short schedule.
func testConfig(epochs, batch int, seed int64) Config {
	cfg := DefaultConfig()
	cfg.Backend, cfg.Encoder = medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	cfg.Epochs, cfg.BatchSize, cfg.Seed = epochs, batch, seed
	return cfg
}

func valAUC(t *testing.T, clf *Classifier, split *data.Split) float64 {
	t.Helper()
	probs, err := clf.Predict(split)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := metrics.AUC(split.IntLabels(), metrics.FromFloat32(probs))
	if err != nil {
		t.Fatal(err)
	}
	return auc
}

// Train must keep the epoch with the best validation AUC: predicting the validation split
// with the returned classifier gives exactly that AUC.
func TestTrainKeepsBestValidationEpoch(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	cfg := testConfig(6, 64, 3)
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

// pretrainedStore builds a store with encoder weights as Pretrain would leave them (here:
// one supervised run, whose encoder scope is the same).
func pretrainedStore(t *testing.T, ds *data.Dataset) *model.Store {
	t.Helper()
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, testConfig(1, 64, 9))
	if err != nil {
		t.Fatal(err)
	}
	return clf.Store
}

// Fine-tuning with weight decay 0 and an encoder learning-rate multiplier of 0 must start
// from the pretrained weights and leave every encoder variable (batch-norm running averages
// included) exactly as it was, while the head trains.
func TestFineTuneZeroMultiplierFreezesEncoder(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	pre := pretrainedStore(t, ds)
	before := testutil.VariableValues(t, pre, "/"+models.EncoderScope)
	headBefore := testutil.VariableValues(t, pre, "/"+HeadScope)
	cfg := testConfig(2, 64, 4)
	cfg.Pretrained, cfg.EncoderLRMultiplier, cfg.Optimizer.WeightDecay = pre, 0, 0
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Classifier{clf, clf.Final} {
		after := testutil.VariableValues(t, c.Store, "/"+models.EncoderScope)
		if len(after) != len(before) || len(before) == 0 {
			t.Fatalf("fine-tuned store has %d encoder variables, pretrained %d", len(after), len(before))
		}
		for path, want := range before {
			if !slices.Equal(after[path], want) {
				t.Errorf("%s moved with an encoder multiplier of 0", path)
			}
		}
		moved := false
		for path, v := range testutil.VariableValues(t, c.Store, "/"+HeadScope) {
			moved = moved || !slices.Equal(v, headBefore[path])
		}
		if !moved {
			t.Error("the head did not train")
		}
	}
	// And the pretrained store itself was not modified by fine-tuning.
	for path, want := range before {
		if !slices.Equal(testutil.VariableValues(t, pre, "/"+models.EncoderScope)[path], want) {
			t.Fatalf("pretrained %s changed", path)
		}
	}
	// A multiplier for an encoder that is not pretrained is a mistake, not a no-op.
	cfg = testConfig(1, 64, 4)
	cfg.EncoderLRMultiplier = 0
	if _, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg); err == nil || !strings.Contains(err.Error(), "Pretrained") {
		t.Errorf("multiplier 0 without a pretrained encoder: error %v", err)
	}
}

func isTrainableWeight(path string) bool {
	n := len(path)
	return n >= 7 && (path[n-7:] == "weights" || (n >= 6 && path[n-6:] == "biases") || (n >= 5 && (path[n-5:] == "scale" || path[n-5:] == "shift")))
}

func TestTrainRejectsBadInput(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	if _, err := Train(ds.Train, nil, 2, testConfig(1, 64, 1)); err == nil {
		t.Error("missing validation split accepted")
	}
	noBackend := testConfig(1, 64, 1)
	noBackend.Backend = nil
	if _, err := Train(ds.Train, ds.Val, 2, noBackend); err == nil {
		t.Error("missing backend accepted")
	}
	// A Config not started from DefaultConfig names the field that is missing.
	_, err := Train(ds.Train, ds.Val, 2, Config{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}})
	if err == nil || !strings.Contains(err.Error(), "Epochs 0") || !strings.Contains(err.Error(), "DefaultConfig") {
		t.Errorf("zero Config: error %v, want one naming Epochs and DefaultConfig", err)
	}
	bad := testConfig(1, 64, 1)
	bad.Optimizer.Schedule.Milestones = []float64{1.5}
	if _, err := Train(ds.Train, ds.Val, 2, bad); err == nil {
		t.Error("milestone 1.5 accepted")
	}
}

// MinSteps adds epochs to a run over few labels until it has that many steps, and leaves a
// run over many labels as it is.
func TestMinStepsAddsEpochs(t *testing.T) {
	cfg := testConfig(2, 64, 5)
	cfg.MinSteps = 7
	for _, c := range []struct{ n, epochs int }{{20, 7}, {64, 7}, {65, 4}, {546, 2}} {
		if got, _ := cfg.RunEpochs(c.n); got != c.epochs {
			t.Errorf("%d examples: %d epochs, want %d", c.n, got, c.epochs)
		}
	}
	ds := testutil.BreastMNIST(t)
	var idx []int // 15 images of each class
	perClass := map[int]int{}
	for i := 0; i < ds.Train.N && len(idx) < 30; i++ {
		if l := ds.Train.Label(i); perClass[l] < 15 {
			perClass[l]++
			idx = append(idx, i)
		}
	}
	few := ds.Train.Subset(idx)
	clf, err := Train(few, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if steps := optimizer.GetGlobalStep(clf.Final.Store); clf.Epochs != 7 || len(clf.TrainLoss) != 7 || steps != 7 {
		t.Errorf("30 images, batch 64, 2 epochs, MinSteps 7: %d epochs (%d losses), %d steps; want 7 and 7", clf.Epochs, len(clf.TrainLoss), steps)
	}
	// Stretched from 2 epochs to 7, the run is validated every ⌈7/2⌉ = 4 epochs and after
	// its last, and keeps the better of the two.
	if got := cfg.ValidationEvery(few.N); got != 4 {
		t.Errorf("ValidationEvery: %d, want 4", got)
	}
	if !slices.Equal(clf.ValEpochs, []int{4, 7}) || len(clf.ValAUC) != 2 {
		t.Errorf("validated after epochs %v (%d AUCs), want [4 7]", clf.ValEpochs, len(clf.ValAUC))
	}
	if best := slices.Index(clf.ValEpochs, clf.BestEpoch); best < 0 || clf.ValAUC[best] != clf.BestValAUC || clf.BestValAUC != slices.Max(clf.ValAUC) {
		t.Errorf("best epoch %d (AUC %v) among %v %v", clf.BestEpoch, clf.BestValAUC, clf.ValEpochs, clf.ValAUC)
	}
	if got := valAUC(t, clf, ds.Val); math.Abs(got-clf.BestValAUC) > 1e-6 {
		t.Errorf("kept classifier scores val AUC %v, recorded %v", got, clf.BestValAUC)
	}
	// Runs that MinSteps leaves as they are are validated after every epoch.
	if got := cfg.ValidationEvery(546); got != 1 {
		t.Errorf("ValidationEvery(546): %d, want 1", got)
	}
	cfg.MinSteps = -1
	if _, err := Train(few, ds.Val, ds.NumClasses, cfg); err == nil || !strings.Contains(err.Error(), "MinSteps -1") {
		t.Errorf("MinSteps -1: error %v", err)
	}
}
