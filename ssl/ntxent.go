package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
)

// NTXent is the normalised temperature-scaled cross-entropy loss of SimCLR (Chen et al.
// 2020), over the 2B embeddings of two views z1, z2 [B, D]:
//
//	u_k = z_k / ‖z_k‖,  s_ij = u_i·u_j / τ   (k, i, j over the 2B rows of [z1; z2])
//	ℓ_i = −s_{i,p(i)} + log Σ_{j≠i} exp(s_ij),  p(i) = i ± B (the other view of the same image)
//	L = (1/2B) Σ_i ℓ_i
//
// Each embedding's positive is the other view of its image; the other 2B−2 embeddings are
// its negatives. temperature is τ > 0.
func NTXent(z1, z2 *graph.Node, temperature float64) *graph.Node {
	g := z1.Graph()
	b := z1.Shape().Dimensions[0]
	z := graph.L2Normalize(graph.Concatenate([]*graph.Node{z1, z2}, 0), -1)
	sim := graph.DivScalar(graph.Einsum("id,jd->ij", z, z), temperature)
	n := 2 * b
	// Exclude self-similarity by a large negative logit on the diagonal.
	rows := graph.Iota(g, shapes.Make(dtypes.Int32, n, n), 0)
	cols := graph.Iota(g, shapes.Make(dtypes.Int32, n, n), 1)
	self := graph.Equal(rows, cols)
	sim = graph.Where(self, graph.Scalar(g, sim.DType(), -1e9), sim)
	// Positive of row i is column (i + B) mod 2B.
	positive := graph.Equal(cols, graph.ModScalar(graph.AddScalar(rows, b), n))
	logProb := graph.LogSoftmax(sim, -1)
	picked := graph.ReduceSum(graph.Where(positive, logProb, graph.ZerosLike(logProb)), -1)
	return graph.Neg(graph.ReduceAllMean(picked))
}
