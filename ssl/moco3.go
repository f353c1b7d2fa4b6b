package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl/ema"
)

// MoCoV3 is MoCo v3 (Chen, Xie and He, ICCV 2021): no queue; each view's query, through a
// projector and a predictor, is contrasted with the momentum encoder's keys of the other
// view of the batch (in-batch negatives), symmetrically.
//
// Defaults (NewMoCoV3), from the paper: temperature τ 0.2 (the paper's ViT setting; its
// ResNet-50 recipe uses 1.0); momentum from 0.99 to 1 by a cosine schedule; projector
// Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN to 256 (the last batch norm without affine
// parameters, the reference code's last_bn) and predictor Linear-BN-ReLU-Linear to 256,
// hidden width 4096 (0 means min(4096, 8·FeatureDim), the paper's width for ResNet-18/50 and
// a smaller one for narrow test encoders). The loss is the reference code's
// ctr(q₁, k₂) + ctr(q₂, k₁) with ctr scaled by 2τ (MoCoV3Loss). The momentum encoder
// (encoder and projector) is described in ema.go.
type MoCoV3 struct {
	// Temperature τ of the contrastive loss.
	Temperature float64
	// BaseMomentum rises to FinalMomentum by the cosine schedule.
	BaseMomentum, FinalMomentum float64
	// ProjectionHidden and PredictionHidden are hidden widths (0: min(4096, 8·F)).
	ProjectionHidden, PredictionHidden int
	// ProjectionDim is the width of queries and keys.
	ProjectionDim int
}

// NewMoCoV3 returns MoCo v3 with the paper's defaults.
func NewMoCoV3() *MoCoV3 {
	return &MoCoV3{Temperature: 0.2, BaseMomentum: 0.99, FinalMomentum: 1, ProjectionDim: 256}
}

// Name implements Method.
func (m *MoCoV3) Name() string { return "moco-v3" }

// Views implements Method: two views, each a query and a key.
func (m *MoCoV3) Views() int { return 2 }

// Loss implements Method.
func (m *MoCoV3) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	g := views[0].Graph()
	if m.Temperature <= 0 || m.ProjectionDim <= 0 || m.ProjectionHidden < 0 || m.PredictionHidden < 0 {
		exceptions.Panicf("ssl: moco-v3: temperature and head widths must be positive, got %+v", *m)
	}
	checkMomentum(m.Name(), m.BaseMomentum, m.FinalMomentum)
	feats := EncodeViews(scope, enc, views)
	ms := MethodScope(scope, m)
	projHidden := momentumHidden(m.ProjectionHidden, enc.FeatureDim())
	predHidden := momentumHidden(m.PredictionHidden, enc.FeatureDim())
	projScope, predScope := ms.In("projection"), ms.In("prediction")
	project := func(s *model.Scope, h *graph.Node) *graph.Node { // output batch norm without affine parameters
		return headStandardize(models.MLP(s, h, projHidden, projHidden, m.ProjectionDim).Done())
	}
	q := make([]*graph.Node, 2)
	for i, f := range feats {
		q[i] = models.MLP(predScope, project(projScope, f), predHidden, m.ProjectionDim).Done()
	}

	target := ema.NewTarget(ms.In("target"))
	tEnc := target.Mirror(g, ema.OnlineScope(scope, models.EncoderScope), models.EncoderScope)
	tProj := target.Mirror(g, projScope, "projection")
	k := make([]*graph.Node, 2)
	for i, v := range views {
		k[i] = graph.StopGradient(project(tProj, enc.Encode(tEnc, v)))
	}
	target.UpdateAfterStep(g, ema.CosineMomentum(TrainingProgress(scope, g), m.BaseMomentum, m.FinalMomentum))
	return graph.Add(MoCoV3Loss(q[0], k[1], m.Temperature), MoCoV3Loss(q[1], k[0], m.Temperature))
}

// MoCoV3Loss is MoCo v3's contrastive loss ctr(q, k) for queries q and keys k [B, D]: key
// k_i is the positive of q_i and the other keys of the batch are its negatives,
//
//	u = q/‖q‖, v = k/‖k‖,  s_ij = u_i·v_j / τ
//	ctr = 2τ · (1/B) Σ_i (−s_ii + log Σ_j exp(s_ij))
//
// The factor 2τ is the reference code's, which makes the gradient's scale independent of τ.
func MoCoV3Loss(q, k *graph.Node, temperature float64) *graph.Node {
	g := q.Graph()
	b := q.Shape().Dimensions[0]
	u, v := graph.L2Normalize(q, -1), graph.L2Normalize(k, -1)
	logProb := graph.LogSoftmax(graph.DivScalar(graph.Einsum("id,jd->ij", u, v), temperature), -1)
	diag := graph.Equal(graph.Iota(g, shapes.Make(dtypes.Int32, b, b), 0), graph.Iota(g, shapes.Make(dtypes.Int32, b, b), 1))
	picked := graph.ReduceSum(graph.Where(diag, logProb, graph.ZerosLike(logProb)), -1)
	return graph.MulScalar(graph.Neg(graph.ReduceAllMean(picked)), 2*temperature)
}

func init() { Register("moco-v3", func() Method { return NewMoCoV3() }) }
