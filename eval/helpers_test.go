package eval

import (
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/supervised"
)

// testConfig is supervised.DefaultConfig on the small test encoder with a short schedule.
func testConfig(epochs, batch int, seed int64) supervised.Config {
	cfg := supervised.DefaultConfig()
	cfg.Backend, cfg.Encoder = medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	cfg.Epochs, cfg.BatchSize, cfg.Seed = epochs, batch, seed
	return cfg
}

// pretrainedStore builds a store with encoder weights as Pretrain would leave them (here:
// one supervised epoch, whose encoder scope is the same).
func pretrainedStore(t *testing.T, ds *data.Dataset) *model.Store {
	t.Helper()
	clf, err := supervised.Train(ds.Train, ds.Val, ds.NumClasses, testConfig(1, 64, 9))
	if err != nil {
		t.Fatal(err)
	}
	return clf.Store
}

// probeAUC is a probe's AUC on split, from its predictions.
func probeAUC(t *testing.T, p *Probe, split *data.Split) float64 {
	t.Helper()
	probs, err := p.Predict(split)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := metrics.AUC(split.IntLabels(), metrics.FromFloat32(probs))
	if err != nil {
		t.Fatal(err)
	}
	return auc
}
