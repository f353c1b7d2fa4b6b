package ssl

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl/ema"
)

// BYOL is Bootstrap Your Own Latent (Grill et al., NeurIPS 2020): an online network
// (encoder, projector, predictor) learns to predict a momentum target network's projection
// of another view of the same image; no negatives.
//
// Defaults (NewBYOL), from the paper: projector Linear-BN-ReLU-Linear to 256 with hidden
// width 4096, predictor of the same shape; loss 2 − 2·cos(q, z′) symmetrised over the two
// views and summed (L + L̃, range [0, 8]); target momentum τ from 0.996 to 1 by a cosine
// schedule over the run. Hidden widths scale with small encoders: 0 means
// min(4096, 8·FeatureDim), which is the paper's 4096 for ResNet-18/50 and 256 for a 32-wide
// test encoder. The target network's mechanics are described in ema.go: it copies the
// online encoder and projector at the first step, then follows them after every optimizer
// step; its batch norms keep their own running statistics.
type BYOL struct {
	// ProjectionHidden and PredictionHidden are the hidden widths (0: min(4096, 8·F)).
	ProjectionHidden, PredictionHidden int
	// ProjectionDim is the output width of projector and predictor.
	ProjectionDim int
	// BaseMomentum is τ at the start; it rises to FinalMomentum by the cosine schedule.
	BaseMomentum, FinalMomentum float64
}

// NewBYOL returns BYOL with the paper's defaults.
func NewBYOL() *BYOL {
	return &BYOL{ProjectionDim: 256, BaseMomentum: 0.996, FinalMomentum: 1}
}

// Name implements Method.
func (m *BYOL) Name() string { return "byol" }

// Views implements Method: two views, each seen by both networks.
func (m *BYOL) Views() int { return 2 }

// Loss implements Method.
func (m *BYOL) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	g := views[0].Graph()
	checkMomentum(m.Name(), m.BaseMomentum, m.FinalMomentum)
	if m.ProjectionDim <= 0 || m.ProjectionHidden < 0 || m.PredictionHidden < 0 {
		exceptions.Panicf("ssl: byol: head widths must be positive, got %+v", *m)
	}
	feats := EncodeViews(scope, enc, views)
	ms := MethodScope(scope, m)
	projHidden := momentumHidden(m.ProjectionHidden, enc.FeatureDim())
	predHidden := momentumHidden(m.PredictionHidden, enc.FeatureDim())

	// Online: each view through its own projector and predictor call (own batch statistics).
	projScope, predScope := ms.In("projection"), ms.In("prediction")
	q := make([]*graph.Node, 2)
	for i, f := range feats {
		z := models.MLP(projScope, f, projHidden, m.ProjectionDim).Done()
		q[i] = models.MLP(predScope, z, predHidden, m.ProjectionDim).Done()
	}

	// Target: momentum copy of encoder and projector.
	target := ema.NewTarget(ms.In("target"))
	tEnc := target.Mirror(g, ema.OnlineScope(scope, models.EncoderScope), models.EncoderScope)
	tProj := target.Mirror(g, projScope, "projection")
	z := make([]*graph.Node, 2)
	for i, v := range views {
		h := enc.Encode(tEnc, v)
		z[i] = graph.StopGradient(models.MLP(tProj, h, projHidden, m.ProjectionDim).Done())
	}
	target.UpdateAfterStep(g, ema.CosineMomentum(TrainingProgress(scope, g), m.BaseMomentum, m.FinalMomentum))

	return graph.Add(BYOLLoss(q[0], z[1]), BYOLLoss(q[1], z[0]))
}

// BYOLLoss is BYOL's regression loss between predictions q and targets z [B, D]: the mean
// over the batch of ‖q/‖q‖ − z/‖z‖‖² = 2 − 2·cos(q, z).
func BYOLLoss(q, z *graph.Node) *graph.Node {
	cos := graph.ReduceSum(graph.Mul(graph.L2Normalize(q, -1), graph.L2Normalize(z, -1)), -1)
	return graph.ReduceAllMean(graph.MulScalar(graph.OneMinus(cos), 2))
}

func init() { Register("byol", func() Method { return NewBYOL() }) }
