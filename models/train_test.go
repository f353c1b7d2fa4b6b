package models

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
)

// loadBreastMNIST reads the first n training images ([n, 28, 28, 1] in [0, 1]) and labels
// ([n, 1] int32) of the real BreastMNIST file.
func loadBreastMNIST(t *testing.T, n int) (*tensors.Tensor, *tensors.Tensor) {
	t.Helper()
	d, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Train
	if tr.N < n || tr.Height != 28 || tr.Width != 28 || tr.Channels != 1 || tr.LabelDim != 1 {
		t.Fatalf("%s train split: %d images of %dx%dx%d with %d labels each, want at least %d of 28x28x1 with 1",
			d.File, tr.N, tr.Height, tr.Width, tr.Channels, tr.LabelDim, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	ys := append([]int32(nil), tr.Labels[:n]...)
	return tensors.FromFlatDataAndDimensions(tr.ImagesFloat32(idx), n, 28, 28, 1), tensors.FromFlatDataAndDimensions(ys, n, 1)
}

// TestResNet18SupervisedLossFalls trains a ResNet-18 (small stem) with a linear classifier on
// 32 real BreastMNIST images (both classes present) with Adam, and checks that the
// cross-entropy on that batch falls to under half of its first value within 12 steps.
func TestResNet18SupervisedLossFalls(t *testing.T) {
	checkSupervisedLossFalls(t, ResNet18(), 12)
}

// checkSupervisedLossFalls trains enc with a linear classifier on 32 real BreastMNIST
// images with Adam (lr 1e-3) and fails unless the cross-entropy on that batch falls to
// under half of its first value within steps steps.
func checkSupervisedLossFalls(t *testing.T, enc Encoder, steps int) {
	t.Helper()
	images, labels := loadBreastMNIST(t, 32)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	modelFn := func(scope *model.Scope, x *graph.Node) *graph.Node {
		features := enc.Encode(scope.In(EncoderScope), x)
		return Linear(scope.In("classifier"), features, 2, activation.TypeNone)
	}
	trainer := train.NewTrainer(medssl.MustBackend(), store, modelFn, loss.SparseCategoricalCrossEntropyLogits,
		optimizer.Adam().LearningRate(1e-3).Done(), nil, nil)
	var first, last float32
	for step := range steps {
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{images}, Labels: []*tensors.Tensor{labels}})
		if err != nil {
			t.Fatal(err)
		}
		last = tensors.ToScalar[float32](metrics[0])
		if step == 0 {
			first = last
		}
	}
	t.Logf("cross-entropy: step 1 %.4f, step %d %.4f", first, steps, last)
	if !(last < first/2) {
		t.Fatalf("loss did not fall to under half within %d steps: %.4f -> %.4f", steps, first, last)
	}
}
