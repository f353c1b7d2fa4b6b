package models

import (
	"runtime"

	. "github.com/gomlx/gomlx/core/graph"
)

// The go backend runs a graph's ops on a few executors (medssl.Backend chooses one per CPU),
// but most of its ops (gathers, scatter-adds, element-wise arithmetic, padding) run on one
// core each, and a ResNet is a chain: one op after the other, so one executor works while
// the other waits, and only the matrix products spread over the cores. Computed as
// independent parts of the batch (each convolution, ReLU and addition once per part, the
// batch norms summing their statistics over the parts), the network gives the executors
// parallel branches to run side by side, and smaller arrays that stay in cache. The
// function computed is the same, but sums are added in another order: results differ by
// rounding, and a training drifts from that difference as it would from another seed (the
// main job's means moved within their 95% intervals).
//
// Measured on 2 CPUs (BenchmarkResNet18Parts: training step at batch 128, 28 px): the
// width-16 ResNet-18 (the main job's) ran 1.47× faster in two parts than whole, 5% faster
// again in four, and fastest in six (535 against 491-505 images/s in four, alternating
// runs); width 8 was fastest in eight parts (768 against 674-722 images/s in four or six),
// the standard width 64 in four (93-94 against 88-91.5 images/s in six or eight).

// partsPerCPUOverride, when not negative, replaces partsPerCPU's choice (0: the whole batch
// at once), for benchmarks and tests.
var partsPerCPUOverride = -1

// partsPerCPU is the number of parts per CPU for a ResNet of the given base width: more,
// smaller parts for narrower networks, whose ops are cheaper per image (the measurements
// above).
func partsPerCPU(baseWidth int) int {
	switch {
	case partsPerCPUOverride >= 0:
		return partsPerCPUOverride
	case baseWidth <= 8:
		return 4
	case baseWidth <= 16:
		return 3
	default:
		return 2
	}
}

// minPartSize and maxBatchParts bound the parts: a part of fewer images is too small to be
// worth its overhead (the main job's 10% cells, batches of 55 images, took about 8.5 s in six
// parts of 9 against 6.8 s in four of 13-14, across two runs of the main job), and more than 8
// parts was never measured.
const (
	minPartSize   = 16
	maxBatchParts = 8
)

// batchPartCount is the number of parts batchParts cuts a batch of the given size into on
// g's backend: one on backends that parallelise ops themselves (XLA), else perCPU per CPU
// within the bounds above.
func batchPartCount(g *Graph, batch, perCPU int) int {
	if perCPU == 0 || !isGoBackend(g) {
		return 1
	}
	return max(1, min(perCPU*runtime.GOMAXPROCS(0), maxBatchParts, batch/minPartSize))
}

// batchParts cuts x [B, ...] along its first axis into batchPartCount parts of (nearly)
// equal size, in order.
func batchParts(x *Node, perCPU int) []*Node {
	b := x.Shape().Dimensions[0]
	n := batchPartCount(x.Graph(), b, perCPU)
	if n == 1 {
		return []*Node{x}
	}
	parts := make([]*Node, n)
	for i := range n {
		parts[i] = Slice(x, AxisRange(i*b/n, (i+1)*b/n))
	}
	return parts
}

// joinParts concatenates the parts along their first axis (the inverse of batchParts).
func joinParts(xs []*Node) *Node {
	if len(xs) == 1 {
		return xs[0]
	}
	return Concatenate(xs, 0)
}

// eachPart applies f to every part.
func eachPart(xs []*Node, f func(*Node) *Node) []*Node {
	out := make([]*Node, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
