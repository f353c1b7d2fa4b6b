package ssl

import (
	"errors"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

func breastTrain(t *testing.T) *data.Split {
	t.Helper()
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	return ds.Train
}

func encoderWeights(t *testing.T, store *model.Store) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if v.Scope() == "/"+models.EncoderScope || len(v.Scope()) > len(models.EncoderScope)+1 && v.Scope()[:len(models.EncoderScope)+2] == "/"+models.EncoderScope+"/" {
			flat, err := tensors.CopyFlatData[float32](v.MustValue())
			if err != nil {
				t.Fatal(err)
			}
			out[v.Path()] = flat
		}
	}
	if len(out) == 0 {
		t.Fatal("no encoder variables in store")
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// SimCLR's loss must fall on real BreastMNIST images within 60 steps.
func TestSimCLRLossFallsOnBreastMNIST(t *testing.T) {
	res, err := Pretrain(breastTrain(t), testPretrain(testutil.SmallEncoder{Width: 32}, NewSimCLR(), 60, 64, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Loss) != 60 || res.Steps != 60 {
		t.Fatalf("ran %d steps (%d losses), want 60", res.Steps, len(res.Loss))
	}
	first, last := mean(res.Loss[:10]), mean(res.Loss[50:])
	t.Logf("NT-Xent: first 10 steps %.3f, last 10 steps %.3f", first, last)
	if !(last < first-0.1) {
		t.Errorf("loss did not fall: first 10 steps %.3f, last 10 %.3f", first, last)
	}
}

// Stopping a run and resuming it from its checkpoint must give exactly the weights of an
// uninterrupted run: same batches (data.WithSkip), same optimiser and RNG state.
func TestPretrainResumeEqualsUninterrupted(t *testing.T) {
	split := breastTrain(t)
	cfg := testPretrain(testutil.SmallEncoder{Width: 32}, NewSimCLR(), 0, 32, 7)

	full := cfg
	full.Steps = 6
	want, err := Pretrain(split, full)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	first := cfg
	first.Steps, first.CheckpointDir = 3, dir
	if _, err := Pretrain(split, first); err != nil {
		t.Fatal(err)
	}
	second := cfg
	second.Steps, second.CheckpointDir = 6, dir
	got, err := Pretrain(split, second)
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != 6 || len(got.Loss) != 3 {
		t.Fatalf("resumed run: %d steps total, %d run now; want 6 and 3", got.Steps, len(got.Loss))
	}
	for i, l := range got.Loss {
		if l != want.Loss[3+i] {
			t.Errorf("resumed step %d loss %v, uninterrupted %v", 3+i, l, want.Loss[3+i])
		}
	}
	wantW, gotW := encoderWeights(t, want.Store), encoderWeights(t, got.Store)
	for path, w := range wantW {
		g := gotW[path]
		for i := range w {
			if g[i] != w[i] {
				t.Fatalf("%s[%d]: resumed %v, uninterrupted %v", path, i, g[i], w[i])
			}
		}
	}

	// A finished checkpoint is not trained further.
	again, err := Pretrain(split, second)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Loss) != 0 || again.Steps != 6 {
		t.Errorf("finished run retrained: %d new steps", len(again.Loss))
	}
}

type otherMethod struct{ *SimCLR }

func (otherMethod) Name() string { return "other" }

func TestPretrainRefusesForeignCheckpoint(t *testing.T) {
	split := breastTrain(t)
	dir := t.TempDir()
	cfg := testPretrain(testutil.SmallEncoder{Width: 32}, NewSimCLR(), 1, 32, 0)
	cfg.CheckpointDir = dir
	if _, err := Pretrain(split, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Method = otherMethod{NewSimCLR()}
	if _, err := Pretrain(split, cfg); !errors.Is(err, ErrCheckpointMismatch) {
		t.Fatalf("resuming another method's checkpoint: err = %v, want ErrCheckpointMismatch", err)
	}
}

func TestPretrainRejectsBadConfig(t *testing.T) {
	split := breastTrain(t)
	noEncoder := testPretrain(nil, NewSimCLR(), 1, 32, 0)
	if _, err := Pretrain(split, noEncoder); err == nil {
		t.Error("missing encoder accepted")
	}
	if _, err := Pretrain(split, testPretrain(testutil.SmallEncoder{Width: 32}, NewSimCLR(), 1, 1000, 0)); err == nil {
		t.Error("batch larger than the data accepted")
	}
	// A Config not started from DefaultPretrainConfig names what is missing.
	_, err := Pretrain(split, PretrainConfig{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 32}, Method: NewSimCLR()})
	if err == nil || !strings.Contains(err.Error(), "DefaultPretrainConfig") {
		t.Errorf("zero config: error %v, want one pointing at DefaultPretrainConfig", err)
	}
}

// testPretrain is DefaultPretrainConfig on the go backend with enc and m, set for a short
// run of steps steps (0: the caller sets Steps) of batch images.
func testPretrain(enc models.Encoder, m Method, steps, batch int, seed int64) PretrainConfig {
	cfg := DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = medssl.MustBackend(), enc, m
	cfg.Steps, cfg.BatchSize, cfg.Seed = steps, batch, seed
	return cfg
}
