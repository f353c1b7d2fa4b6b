package ssl

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// SimSiam is simple Siamese representation learning (Chen & He, CVPR 2021): two views go
// through the encoder and a projector f, a predictor h maps one view's projection to the
// other's, and the loss is the symmetric negative cosine with a stop-gradient on the
// target branch (SimSiamLoss). No negatives, no momentum encoder: the stop-gradient is
// what prevents collapse.
//
// Defaults (NewSimSiam), the paper's ImageNet heads expressed relative to the encoder's
// feature width F (the paper: F = 2048 for ResNet-50):
//   - projector: 3 layers of width F, Linear-BN-ReLU, Linear-BN-ReLU, Linear-BN (batch
//     norm without affine parameters on the output too, as in the paper's code); F = 512 for
//     ResNet-18, 64 for a width-8 ResNet-18. The paper's CIFAR variant uses 2 layers
//     (ProjectorLayers = 2).
//   - predictor: bottleneck Linear(F/4)-BN-ReLU-Linear(F), the paper's 512 for 2048.
type SimSiam struct {
	// ProjectionDim is the projector's width and output; 0 means the encoder's feature width.
	ProjectionDim int
	// ProjectorLayers is the number of projector layers (paper: 3 on ImageNet, 2 on CIFAR).
	ProjectorLayers int
	// PredictorHidden is the predictor's bottleneck width; 0 means ProjectionDim/4.
	PredictorHidden int
}

// NewSimSiam returns SimSiam with the paper's defaults (see SimSiam).
func NewSimSiam() *SimSiam { return &SimSiam{ProjectorLayers: 3} }

// Name implements Method.
func (m *SimSiam) Name() string { return "simsiam" }

// Views implements Method: two views of each image.
func (m *SimSiam) Views() int { return 2 }

// Loss implements Method.
func (m *SimSiam) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	feats := EncodeViews(scope, enc, views)
	dim := m.ProjectionDim
	if dim == 0 {
		dim = enc.FeatureDim()
	}
	hidden := m.PredictorHidden
	if hidden == 0 {
		hidden = max(1, dim/4)
	}
	layers := max(1, m.ProjectorLayers)
	dims := make([]int, layers)
	for i := range dims {
		dims[i] = dim
	}
	head := MethodScope(scope, m)
	z := headPerView(head.In("projector"), feats, dims)
	for i := range z { // the projector's output batch norm, without affine parameters
		z[i] = headStandardize(z[i])
	}
	p := headPerView(head.In("predictor"), z, []int{hidden, dim})
	return SimSiamLoss(p[0], p[1], z[0], z[1])
}

// SimSiamLoss is SimSiam's symmetric loss on predictions p1, p2 and projections z1, z2
// [B, D] of the two views:
//
//	L = ½·D(p1, sg(z2)) + ½·D(p2, sg(z1)),  D = NegativeCosine,
//
// where sg is the stop-gradient: no gradient reaches z1 or z2 through it.
func SimSiamLoss(p1, p2, z1, z2 *graph.Node) *graph.Node {
	return graph.MulScalar(graph.Add(
		NegativeCosine(p1, graph.StopGradient(z2)),
		NegativeCosine(p2, graph.StopGradient(z1))), 0.5)
}

// NegativeCosine is the mean negative cosine similarity of the rows of p and z [B, D]:
//
//	D(p, z) = −(1/B) Σ_b p_b·z_b / (‖p_b‖·‖z_b‖),
//
// in [−1, 1], −1 when every pair points the same way.
func NegativeCosine(p, z *graph.Node) *graph.Node {
	cos := graph.ReduceSum(graph.Mul(graph.L2Normalize(p, -1), graph.L2Normalize(z, -1)), -1)
	return graph.Neg(graph.ReduceAllMean(cos))
}

func init() { Register("simsiam", func() Method { return NewSimSiam() }) }
