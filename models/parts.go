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
// parallel branches to run side by side. The width-16 ResNet-18 training step at batch 128
// (the main job's) ran 1.47× faster in two parts than in one on 2 CPUs, and about 5% faster
// again in four (two per CPU: an executor finding its part's next op waiting has another
// part's to run); the standard-width step about 3% faster in four than in two
// (BenchmarkResNet18Parts). The function computed is the same; sums are added in another
// order, so results differ by rounding.

// partsPerCPU is the number of parts per CPU; 0 computes the whole batch at once (for
// benchmarks and tests).
var partsPerCPU = 2

// minPartSize and maxBatchParts bound the parts: a part of fewer images is too small to be
// worth its overhead; more than 8 parts was never measured (all of this was measured on 2
// CPUs).
const (
	minPartSize   = 8
	maxBatchParts = 8
)

// batchPartCount is the number of parts batchParts cuts a batch of the given size into on
// g's backend: one on backends that parallelise ops themselves (XLA), else partsPerCPU per
// CPU within the bounds above.
func batchPartCount(g *Graph, batch int) int {
	if partsPerCPU == 0 || !isGoBackend(g) {
		return 1
	}
	return max(1, min(partsPerCPU*runtime.GOMAXPROCS(0), maxBatchParts, batch/minPartSize))
}

// batchParts cuts x [B, ...] along its first axis into batchPartCount parts of (nearly)
// equal size, in order.
func batchParts(x *Node) []*Node {
	b := x.Shape().Dimensions[0]
	n := batchPartCount(x.Graph(), b)
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
