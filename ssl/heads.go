package ssl

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// Helpers shared by the pretext methods' heads and losses. Their names carry a "head" or
// "pretext" prefix to keep them apart from the other methods' helpers in this package.

// pretextCrossEntropy is the mean cross-entropy of logits [N, K] against integer class
// labels [N] in [0, K): −(1/N) Σ_n log softmax(logits_n)[labels_n].
func pretextCrossEntropy(logits, labels *graph.Node) *graph.Node {
	k := logits.Shape().Dimensions[logits.Rank()-1]
	oneHot := graph.OneHot(labels, k, logits.DType())
	picked := graph.ReduceSum(graph.Mul(oneHot, graph.LogSoftmax(logits, -1)), -1)
	return graph.Neg(graph.ReduceAllMean(picked))
}

// headStandardize standardises z [B, D] per dimension over the batch, (z − mean)/√(var + ε)
// with the biased variance and ε = 1e-5: PyTorch's BatchNorm1d(affine=False) in training
// mode, which the Barlow Twins loss and SimSiam's projector output use.
func headStandardize(z *graph.Node) *graph.Node {
	centred := graph.Sub(z, graph.ReduceAndKeep(z, graph.ReduceMean, 0))
	variance := graph.ReduceAndKeep(graph.Square(centred), graph.ReduceMean, 0)
	return graph.Div(centred, graph.Sqrt(graph.AddScalar(variance, headStandardizeEpsilon)))
}

// headStandardizeEpsilon is PyTorch's BatchNorm1d default ε.
const headStandardizeEpsilon = 1e-5

// headPerView applies one MLP head (shared weights, models.MLP with hidden batch norm) to
// each view's features separately, so batch norm normalises each view's batch alone, as
// the reference implementations of SimSiam, Barlow Twins and VICReg do.
func headPerView(scope *model.Scope, feats []*graph.Node, dims []int) []*graph.Node {
	out := make([]*graph.Node, len(feats))
	for i, f := range feats {
		out[i] = models.MLP(scope, f, dims...).Done()
	}
	return out
}

// headDims returns dims when set, else layers widths each equal to ratio times the
// encoder's feature width: the papers' head widths expressed relative to their encoder,
// so that small encoders get proportionally small heads.
func headDims(dims []int, enc models.Encoder, layers, ratio int) []int {
	if len(dims) > 0 {
		return dims
	}
	out := make([]int, layers)
	for i := range out {
		out[i] = ratio * enc.FeatureDim()
	}
	return out
}
