package ssl_test

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// brightnessOrder is a toy custom pretext task written outside the library: predict which
// of two views of an image was made darker. It only needs the ssl.Method interface.
type brightnessOrder struct{}

func (brightnessOrder) Name() string { return "brightness-order" }
func (brightnessOrder) Views() int   { return 1 }
func (m brightnessOrder) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	x := views[0]
	dark := graph.MulScalar(x, 0.5)
	feats := ssl.EncodeViews(scope, enc, []*graph.Node{x, dark})
	// Score each view; the darker one should score lower: logistic loss on the difference.
	head := ssl.MethodScope(scope, m)
	s := models.MLP(head, graph.Concatenate(feats, 0), 1).Done()
	parts := graph.Split(s, 0, 2)
	return graph.ReduceAllMean(graph.Softplus(graph.Sub(parts[1], parts[0])))
}

// Pretraining a custom method on the embedded BreastMNIST, then reading its encoder.
func ExamplePretrain() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	backend := medssl.MustBackend()
	enc := models.ResNetFor(18, ds.Train.Height).Width(8)
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = backend, enc, brightnessOrder{}
	cfg.Steps, cfg.BatchSize, cfg.Seed = 2, 32, 1
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(pre.Method, pre.Steps, len(pre.Loss))
	// Output: brightness-order 2 2
}
