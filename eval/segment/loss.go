package segment

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// DiceSmooth is the ε of SoftDiceLoss (MONAI's and nnU-Net's 1e-5).
const DiceSmooth = 1e-5

// SoftDiceLoss is one minus the mean soft Dice of the foreground classes 1…K−1 of logits
// [B, H, W, K] against masks [B, H, W] (class indices, any integer dtype), computed over
// the whole batch ("batch Dice", nnU-Net's choice for 2D: a slice where a class is absent
// then does not make a term of its own):
//
//	p = softmax(logits), y = onehot(masks)
//	D_k = (2·Σ p_k·y_k + ε) / (Σ p_k + Σ y_k + ε)   sums over batch and pixels, ε = DiceSmooth
//	loss = 1 − mean_{k ≥ 1} D_k
//
// Empty masks: a class absent from the batch's masks has D_k = ε/(Σ p_k + ε): 1 when
// nothing of it is predicted either, falling towards 0 as its predicted mass grows.
// Background is left out (it would dominate). K must be at least 2.
func SoftDiceLoss(logits, masks *graph.Node) *graph.Node {
	p, y := probsAndTargets(logits, masks)
	k := logits.Shape().Dimensions[3]
	inter := graph.ReduceSum(graph.Mul(p, y), 0, 1, 2) // [K]
	sums := graph.Add(graph.ReduceSum(p, 0, 1, 2), graph.ReduceSum(y, 0, 1, 2))
	d := graph.Div(graph.AddScalar(graph.MulScalar(inter, 2), DiceSmooth), graph.AddScalar(sums, DiceSmooth))
	fg := graph.SliceAxis(d, 0, graph.AxisRange(1, k))
	return graph.OneMinus(graph.ReduceAllMean(fg))
}

// CrossEntropyLoss is the mean over pixels of −log softmax(logits)[mask].
func CrossEntropyLoss(logits, masks *graph.Node) *graph.Node {
	checkShapes(logits, masks)
	k := logits.Shape().Dimensions[3]
	y := graph.OneHot(masks, k, logits.DType())
	return graph.Neg(graph.ReduceAllMean(graph.ReduceSum(graph.Mul(y, graph.LogSoftmax(logits, -1)), -1)))
}

// DiceCELoss is ceWeight·CrossEntropyLoss + diceWeight·SoftDiceLoss.
func DiceCELoss(logits, masks *graph.Node, diceWeight, ceWeight float64) *graph.Node {
	var terms []*graph.Node
	if ceWeight != 0 {
		terms = append(terms, graph.MulScalar(CrossEntropyLoss(logits, masks), ceWeight))
	}
	if diceWeight != 0 {
		terms = append(terms, graph.MulScalar(SoftDiceLoss(logits, masks), diceWeight))
	}
	if len(terms) == 0 {
		exceptions.Panicf("segment: DiceCELoss with both weights 0")
	}
	loss := terms[0]
	for _, t := range terms[1:] {
		loss = graph.Add(loss, t)
	}
	return loss
}

func probsAndTargets(logits, masks *graph.Node) (p, y *graph.Node) {
	checkShapes(logits, masks)
	k := logits.Shape().Dimensions[3]
	return graph.Softmax(logits, -1), graph.OneHot(masks, k, logits.DType())
}

func checkShapes(logits, masks *graph.Node) {
	ld, md := logits.Shape().Dimensions, masks.Shape().Dimensions
	if len(ld) != 4 || len(md) != 3 || ld[0] != md[0] || ld[1] != md[1] || ld[2] != md[2] || ld[3] < 2 {
		exceptions.Panicf("segment: logits must be [B, H, W, K>=2] and masks [B, H, W], got %s and %s", logits.Shape(), masks.Shape())
	}
}
