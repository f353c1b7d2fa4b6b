package supervised

import (
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// Partial fine-tuning: everything the encoder builds before TrainableFrom keeps its
// pretrained value (batch-norm running averages too); the rest trains.
func TestTrainableFromFreezesEarlierLayers(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	pre := pretrainedStore(t, ds)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	frozen, err := FrozenVariables(backend, enc, ds.Train, "encoder/conv2")
	if err != nil {
		t.Fatal(err)
	}
	// SmallEncoder builds conv1, then bn1 around it, then conv2 and bn2.
	want := []string{"/encoder/conv1/weights", "/encoder/bn1/batch_norm/scale", "/encoder/bn1/batch_norm/offset",
		"/encoder/bn1/batch_norm/mean", "/encoder/bn1/batch_norm/variance"}
	if !slices.Equal(frozen, want) {
		t.Fatalf("frozen %v, want %v", frozen, want)
	}
	before := testutil.VariableValues(t, pre, "/"+models.EncoderScope)
	cfg := testConfig(2, 128, 4)
	cfg.Pretrained, cfg.TrainableFrom = pre, "encoder/conv2"
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, store := range []*Classifier{clf, clf.Final} {
		after := testutil.VariableValues(t, store.Store, "/"+models.EncoderScope)
		for _, p := range frozen {
			if !slices.Equal(after[p], before[p]) {
				t.Errorf("frozen %s changed", p)
			}
		}
		for _, p := range []string{"/encoder/conv2/weights", "/encoder/bn2/batch_norm/mean"} {
			if slices.Equal(after[p], before[p]) {
				t.Errorf("trainable %s did not change", p)
			}
		}
	}
	// ResNet: freezing up to stage 3 keeps the stem, stage 1 and stage 2.
	res := models.ResNetFor(18, 28).Width(4)
	frozen, err = FrozenVariables(backend, res, ds.Train, "/encoder/stage3/")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range frozen {
		seen[strings.Split(p, "/")[2]] = true
	}
	if len(seen) != 3 || !seen["stem"] || !seen["stage1"] || !seen["stage2"] {
		t.Errorf("ResNet frozen scopes %v, want stem, stage1, stage2", seen)
	}
	_, err = FrozenVariables(backend, res, ds.Train, "encoder/stage9")
	if err == nil || !strings.Contains(err.Error(), "encoder/stage4") {
		t.Errorf("unknown scope: error %v, want one listing the encoder's scopes", err)
	}
	cfg = testConfig(1, 128, 4)
	cfg.TrainableFrom = "encoder/conv2"
	if _, err := Train(ds.Train, ds.Val, 2, cfg); err == nil {
		t.Error("TrainableFrom without a pretrained encoder accepted")
	}
}
