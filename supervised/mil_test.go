package supervised

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// milBags builds MIL bags from real BreastMNIST images: random bags of 4 images of a
// split, labelled 1 when any image is malignant (class 0), as data.RandomBags does.
func milBags(t *testing.T, s *data.Split, seed int64) *data.Bags {
	t.Helper()
	b, err := data.RandomBags(s, 4, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// milConfig is DefaultMILConfig on a tiny encoder.
func milConfig(epochs int, seed int64) Config {
	cfg := DefaultMILConfig()
	cfg.Backend, cfg.Encoder, cfg.Epochs, cfg.Seed = medssl.MustBackend(), testutil.SmallEncoder{Width: 8}, epochs, seed
	return cfg
}

func milAUC(t *testing.T, clf *MILClassifier, bags *data.Bags) float64 {
	t.Helper()
	probs, err := clf.Predict(bags)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := metrics.AUC(bags.IntLabels(), metrics.FromFloat32(probs))
	if err != nil {
		t.Fatal(err)
	}
	return auc
}

func TestTrainMIL(t *testing.T) {
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	train, val := milBags(t, ds.Train, 1), milBags(t, ds.Val, 2) // 136 and 19 bags
	const epochs = 4
	cfg := milConfig(epochs, 5)
	clf, err := TrainMIL(train, val, cfg, MILSlices(4))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train loss per epoch %.4f, val AUC %.3f", clf.TrainLoss, clf.ValAUC)
	if len(clf.TrainLoss) != epochs || len(clf.ValAUC) != epochs || clf.SlicesPerBag != 4 {
		t.Fatalf("history: %d losses, %d AUCs, %d slices per bag; want %d, %d, 4", len(clf.TrainLoss), len(clf.ValAUC), clf.SlicesPerBag, epochs, epochs)
	}
	// 4 epochs of ⌈136/8⌉ = 17 steps: the mean loss of the last epoch is below the first's.
	if !(clf.TrainLoss[epochs-1] < clf.TrainLoss[0]) {
		t.Errorf("training loss did not fall in %d steps: %v", epochs*17, clf.TrainLoss)
	}
	// The kept classifier is the best validation epoch's; Final is the last epoch's.
	if got := milAUC(t, clf, val); math.Abs(got-clf.BestValAUC) > 1e-6 || clf.ValAUC[clf.BestEpoch-1] != clf.BestValAUC {
		t.Errorf("kept classifier scores val AUC %v, best epoch %d recorded %v", got, clf.BestEpoch, clf.BestValAUC)
	}
	if got, last := milAUC(t, clf.Final, val), clf.ValAUC[epochs-1]; math.Abs(got-last) > 1e-6 {
		t.Errorf("Final scores val AUC %v, last epoch recorded %v", got, last)
	}
	if m, err := clf.Evaluate(val); err != nil || math.Abs(m.AUC-clf.BestValAUC) > 1e-6 {
		t.Errorf("Evaluate: AUC %v, err %v; want %v", m.AUC, err, clf.BestValAUC)
	}

	// Bags of different lengths (1 to 5 real val images) are padded and masked when
	// predicted together: each must score as it does alone, where nothing is padded.
	var bags [][]int
	next := 0
	for k := range 8 {
		n := k%5 + 1
		var bag []int
		for range n {
			bag = append(bag, next)
			next++
		}
		bags = append(bags, bag)
	}
	mixed, err := data.NewBags(ds.Val, bags, []int32{0, 1, 0, 1, 0, 1, 0, 1}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	probs, attn, err := clf.PredictWithAttention(mixed)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != mixed.Len() || len(attn) != mixed.Len() {
		t.Fatalf("%d probability rows and %d attention rows for %d bags", len(probs), len(attn), mixed.Len())
	}
	for k := range bags {
		if len(attn[k]) != len(bags[k]) || len(probs[k]) != 2 {
			t.Fatalf("bag %d: %d attention weights for %d slices, %d probabilities", k, len(attn[k]), len(bags[k]), len(probs[k]))
		}
		var sum float64
		for _, a := range attn[k] {
			sum += float64(a)
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("bag %d: attention sums to %v", k, sum)
		}
		alone, err := mixed.Subset([]int{k})
		if err != nil {
			t.Fatal(err)
		}
		p1, a1, err := clf.PredictWithAttention(alone)
		if err != nil {
			t.Fatal(err)
		}
		for c := range probs[k] {
			if math.Abs(float64(probs[k][c]-p1[0][c])) > 1e-5 {
				t.Errorf("bag %d class %d: %v padded, %v alone", k, c, probs[k][c], p1[0][c])
			}
		}
		for i := range a1[0] {
			if math.Abs(float64(attn[k][i]-a1[0][i])) > 1e-5 {
				t.Errorf("bag %d slice %d: attention %v padded, %v alone", k, i, attn[k][i], a1[0][i])
			}
		}
	}
}

// A 2D encoder's store initialises the MIL encoder by name: with a ~0 encoder learning
// rate its weights stay those of the store.
func TestTrainMILLoadsPretrainedEncoder(t *testing.T) {
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	enc := testutil.SmallEncoder{Width: 8}
	backend := medssl.MustBackend()
	// The "pretrained" store: the encoder built on 2D images [B,H,W,C], seeded apart.
	pre := model.NewStore()
	pre.SetParam(model.ParamInitialSeed, int64(99))
	exec, err := model.NewExec(backend, pre, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return enc.Encode(scope.In(models.EncoderScope), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Exec(tensors.FromFlatDataAndDimensions(ds.Train.ImagesFloat32([]int{0, 1}), 2, 28, 28, 1)); err != nil {
		t.Fatal(err)
	}
	exec.Finalize()
	before := milWeights(t, pre)
	if len(before) == 0 {
		t.Fatal("no encoder weights in the pretrained store")
	}
	cfg := milConfig(1, 5)
	cfg.Pretrained, cfg.EncoderLRMultiplier = pre, 0
	clf, err := TrainMIL(milBags(t, ds.Train, 1), milBags(t, ds.Val, 2), cfg, MILSlices(4))
	if err != nil {
		t.Fatal(err)
	}
	after := milWeights(t, clf.Store)
	for path, want := range before {
		got, ok := after[path]
		if !ok {
			t.Fatalf("MIL store lacks %s", path)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 {
				t.Fatalf("%s[%d] = %v, pretrained %v", path, i, got[i], want[i])
			}
		}
	}
}

// milWeights returns the trainable encoder weights (not batch-norm running averages) by path.
func milWeights(t *testing.T, store *model.Store) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		p := v.Path()
		if !strings.HasPrefix(p, "/"+models.EncoderScope+"/") || strings.Contains(p, "mean") || strings.Contains(p, "variance") || strings.Contains(p, "avg") {
			continue
		}
		flat, err := tensors.CopyFlatData[float32](v.MustValue())
		if err != nil {
			continue // integer counters
		}
		out[p] = flat
	}
	return out
}

func TestTrainMILRejectsBadInput(t *testing.T) {
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	good := milBags(t, ds.Train, 1)
	cfg := milConfig(1, 0)
	three := *good
	three.NumClasses = 3
	cases := map[string]func() error{
		"nil bags":     func() error { _, err := TrainMIL(nil, good, cfg); return err },
		"invalid bags": func() error { _, err := TrainMIL(&data.Bags{}, good, cfg); return err },
		"class counts": func() error { _, err := TrainMIL(good, &three, cfg); return err },
		"zero slices":  func() error { _, err := TrainMIL(good, good, cfg, MILSlices(0)); return err },
		"no encoder": func() error {
			c := cfg
			c.Encoder = nil
			_, err := TrainMIL(good, good, c)
			return err
		},
		"empty pretrained": func() error {
			c := cfg
			c.Pretrained = model.NewStore()
			_, err := TrainMIL(good, good, c)
			return err
		},
	}
	for name, f := range cases {
		if err := f(); err == nil || !strings.HasPrefix(err.Error(), "supervised:") {
			t.Errorf("%s: error %v, want a supervised: error", name, err)
		}
	}
}

// Multiple-instance learning on bags of real BreastMNIST images: each bag holds 4
// images and is positive when any of them is malignant. One short epoch with a tiny
// encoder, to show the calls; real runs use models.ResNetFor and many epochs.
func ExampleTrainMIL() {
	ds, err := data.BreastMNIST()
	if err != nil {
		fmt.Println(err)
		return
	}
	train, _ := data.RandomBags(ds.Train, 4, 0, 1)
	val, _ := data.RandomBags(ds.Val, 4, 0, 2)
	cfg := DefaultMILConfig()
	cfg.Backend, cfg.Encoder, cfg.Epochs, cfg.Seed = medssl.MustBackend(), testutil.SmallEncoder{Width: 8}, 1, 1
	clf, err := TrainMIL(train, val, cfg, MILSlices(4))
	if err != nil {
		fmt.Println(err)
		return
	}
	probs, attn, err := clf.PredictWithAttention(val)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d training bags, %d validation bags\n", train.Len(), val.Len())
	fmt.Printf("bag 0: %d class probabilities, %d attention weights\n", len(probs[0]), len(attn[0]))
	// Output:
	// 136 training bags, 19 validation bags
	// bag 0: 2 class probabilities, 4 attention weights
}
