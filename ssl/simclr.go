package ssl

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// SimCLR is contrastive learning of visual representations (Chen et al., ICML 2020): two
// augmented views of each image, an MLP projection head, and the NT-Xent loss.
//
// Defaults (NewSimCLR): temperature 0.5 (the paper's value for CIFAR-scale batches of 128-512),
// projection head Linear(F→F)-ReLU-Linear(F→128) with F the encoder's feature width, as in
// the paper and in ../shared/bench/peer_simclr_resnet18.py.
type SimCLR struct {
	// Temperature τ of NT-Xent.
	Temperature float64
	// ProjectionHidden is the hidden width of the projection head; 0 means the encoder's
	// feature width.
	ProjectionHidden int
	// ProjectionDim is the output width of the projection head.
	ProjectionDim int
}

// NewSimCLR returns SimCLR with the paper's defaults.
func NewSimCLR() *SimCLR { return &SimCLR{Temperature: 0.5, ProjectionDim: 128} }

// Name implements Method.
func (m *SimCLR) Name() string { return "simclr" }

// Views implements Method: SimCLR contrasts two views of each image.
func (m *SimCLR) Views() int { return 2 }

// Loss implements Method.
func (m *SimCLR) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	feats := EncodeViews(scope, enc, views)
	hidden := m.ProjectionHidden
	if hidden == 0 {
		hidden = enc.FeatureDim()
	}
	head := MethodScope(scope, m).In("projection")
	// The projection is applied to both views at once (shared weights).
	z := models.MLP(head, graph.Concatenate(feats, 0), hidden, m.ProjectionDim).BatchNorm(false).Done()
	zs := graph.Split(z, 0, 2)
	return NTXent(zs[0], zs[1], m.Temperature)
}

func init() { Register("simclr", func() Method { return NewSimCLR() }) }
