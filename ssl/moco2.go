package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl/ema"
)

// MoCoV2 is Momentum Contrast v2 (He et al., CVPR 2020; Chen et al., arXiv:2003.04297): a
// query encoder is trained to match, among many negatives, the key a momentum encoder
// makes of another view of the same image. The negatives are the keys of recent batches,
// kept in a queue.
//
// Defaults (NewMoCoV2), from the papers unless said: temperature τ 0.2; momentum m 0.999,
// constant; projection head Linear(F→F)-ReLU-Linear(F→128), no batch norm (v2's MLP head,
// 2048 hidden for ResNet-50's F = 2048); the loss is the paper's asymmetric InfoNCE (view 0
// is the query, view 1 the key). The queue holds QueueSize = 4096 keys instead of the
// paper's 65536: the ImageNet value exceeds most medical datasets (BreastMNIST has 546
// training images), and a queue longer than the dataset holds stale keys of the very images
// in the batch as negatives. Keep QueueSize at most about half the number of training
// images and at least the batch size; with few steps per epoch m = 0.99 (the common CIFAR
// setting) lets the keys follow the encoder faster.
//
// The momentum encoder (encoder and projection head) is described in ema.go: a copy of the
// online network at the first step, then ξ ← m·ξ + (1−m)·θ after every optimizer step; its
// batch norms keep their own running statistics. Shuffling BN (the paper's multi-GPU
// guard against batch-statistics leakage) is not done: there is one device.
//
// The queue "ssl/moco-v2/queue" [QueueSize, ProjectionDim] starts as random unit vectors
// (as in the reference code) and, after each optimizer step, the batch's keys overwrite its
// oldest rows from the pointer "ssl/moco-v2/queue_ptr" on (wrapping around); so the keys of
// a step are negatives from the next step on.
type MoCoV2 struct {
	// Temperature τ of InfoNCE.
	Temperature float64
	// Momentum m of the key encoder.
	Momentum float64
	// QueueSize is the number K of negative keys.
	QueueSize int
	// ProjectionHidden is the hidden width of the head; 0 means the encoder's feature width.
	ProjectionHidden int
	// ProjectionDim is the width of queries and keys.
	ProjectionDim int
}

// NewMoCoV2 returns MoCo v2 with the defaults above.
func NewMoCoV2() *MoCoV2 {
	return &MoCoV2{Temperature: 0.2, Momentum: 0.999, QueueSize: 4096, ProjectionDim: 128}
}

// Name implements Method.
func (m *MoCoV2) Name() string { return "moco-v2" }

// Views implements Method: a query view and a key view.
func (m *MoCoV2) Views() int { return 2 }

// Loss implements Method.
func (m *MoCoV2) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	g := views[0].Graph()
	batch := views[0].Shape().Dimensions[0]
	if m.QueueSize < batch {
		exceptions.Panicf("ssl: moco-v2: QueueSize %d is smaller than the batch size %d", m.QueueSize, batch)
	}
	if m.Temperature <= 0 || m.ProjectionDim <= 0 || m.ProjectionHidden < 0 {
		exceptions.Panicf("ssl: moco-v2: temperature and head widths must be positive, got %+v", *m)
	}
	checkMomentum(m.Name(), m.Momentum, m.Momentum)
	hidden := m.ProjectionHidden
	if hidden == 0 {
		hidden = enc.FeatureDim()
	}
	ms := MethodScope(scope, m)
	projScope := ms.In("projection")
	head := func(s *model.Scope, h *graph.Node) *graph.Node {
		return graph.L2Normalize(models.MLP(s, h, hidden, m.ProjectionDim).BatchNorm(false).Done(), -1)
	}
	q := head(projScope, EncodeViews(scope, enc, views[:1])[0])

	target := ema.NewTarget(ms.In("target"))
	tEnc := target.Mirror(g, ema.OnlineScope(scope, models.EncoderScope), models.EncoderScope)
	tProj := target.Mirror(g, projScope, "projection")
	k := graph.StopGradient(head(tProj, enc.Encode(tEnc, views[1])))
	target.UpdateAfterStep(g, graph.Scalar(g, dtypes.Float32, m.Momentum))

	queueVar, ptrVar := mocoQueue(ms, m.QueueSize, m.ProjectionDim, q.DType())
	loss := MoCoLoss(q, k, graph.StopGradient(queueVar.NodeValue(g)), m.Temperature)
	train.AddPerStepUpdateGraphFn(ms, g, func(_ *model.Scope, g *graph.Graph) {
		newQueue, newPtr := mocoEnqueue(queueVar.NodeValue(g), k, ptrVar.NodeValue(g))
		queueVar.SetNodeValue(newQueue)
		ptrVar.SetNodeValue(newPtr)
	})
	return loss
}

// mocoQueue returns the queue variable [size, dim], initialised to random unit rows, and
// its int32 pointer, both non-trainable.
func mocoQueue(ms *model.Scope, size, dim int, dtype dtypes.DType) (queue, ptr *model.Variable) {
	store := ms.Store()
	initRandomUnit := func(g *graph.Graph, shape shapes.Shape) *graph.Node {
		return graph.L2Normalize(ms.RandomNormal(g, shape), -1)
	}
	queue = store.VariableWithShape(model.JoinPath(ms.Scope(), "queue"), shapes.Make(dtype, size, dim), initRandomUnit).SetTrainable(false)
	ptr = store.VariableWithValue(model.JoinPath(ms.Scope(), "queue_ptr"), int32(0)).SetTrainable(false)
	return queue, ptr
}

// mocoEnqueue writes keys [B, D] into queue [K, D] at rows ptr, ptr+1, …, ptr+B−1 (mod K)
// and returns the new queue and pointer (ptr + B) mod K. It needs B ≤ K and 0 ≤ ptr < K.
func mocoEnqueue(queue, keys, ptr *graph.Node) (newQueue, newPtr *graph.Node) {
	g := queue.Graph()
	k, d := queue.Shape().Dimensions[0], queue.Shape().Dimensions[1]
	b := keys.Shape().Dimensions[0]
	rows := graph.Iota(g, shapes.Make(dtypes.Int32, k), 0)
	offset := graph.ModScalar(graph.Sub(graph.AddScalar(rows, k), ptr), k) // (i − ptr) mod K
	written := graph.BroadcastToDims(graph.ExpandAxes(graph.LessThan(offset, graph.Scalar(g, dtypes.Int32, b)), -1), k, d)
	fromKeys := graph.Gather(keys, graph.ExpandAxes(graph.MinScalar(offset, b-1), -1))
	newQueue = graph.Where(written, graph.ConvertDType(fromKeys, queue.DType()), queue)
	newPtr = graph.ModScalar(graph.AddScalar(ptr, b), k)
	return newQueue, newPtr
}

// MoCoLoss is MoCo's InfoNCE loss for queries q and positive keys k [B, D] and negatives
// queue [K, D] (unit rows):
//
//	u = q/‖q‖, v = k/‖k‖,  l_i = [u_i·v_i, u_i·n_1, …, u_i·n_K] / τ
//	L = (1/B) Σ_i −log softmax(l_i)_0
//
// i.e. cross-entropy with the positive as class 0 of K+1.
func MoCoLoss(q, k, queue *graph.Node, temperature float64) *graph.Node {
	u, v := graph.L2Normalize(q, -1), graph.L2Normalize(k, -1)
	pos := graph.ExpandAxes(graph.ReduceSum(graph.Mul(u, v), -1), -1) // [B, 1]
	neg := graph.Einsum("bd,kd->bk", u, queue)                        // [B, K]
	logits := graph.DivScalar(graph.Concatenate([]*graph.Node{pos, neg}, -1), temperature)
	logProb := graph.LogSoftmax(logits, -1)
	return graph.Neg(graph.ReduceAllMean(graph.Slice(logProb, graph.AxisRange(), graph.AxisElem(0))))
}

func init() { Register("moco-v2", func() Method { return NewMoCoV2() }) }
