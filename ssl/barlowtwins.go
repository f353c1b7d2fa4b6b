package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// BarlowTwins is redundancy reduction (Zbontar et al., ICML 2021): the cross-correlation
// matrix of the two views' batch-standardised embeddings is pushed to the identity
// (BarlowTwinsLoss), which makes the views agree (diagonal) while decorrelating the
// embedding's dimensions (off-diagonal).
//
// Defaults (NewBarlowTwins): λ = 5·10⁻³ (the paper's value), projector of 3 layers
// Linear-BN-ReLU, Linear-BN-ReLU, Linear, each 4F wide for encoder features of width F.
// The paper uses 8192-8192-8192 on ResNet-50's 2048 features; the same 4× ratio gives
// 2048 for ResNet-18 (the usual CIFAR setting) and 256 for a width-8 ResNet-18, keeping
// the D×D cross-correlation affordable on small encoders.
type BarlowTwins struct {
	// Lambda weighs the off-diagonal (redundancy) term.
	Lambda float64
	// ProjectorDims are the projector's layer widths; nil means 3 layers of 4× the
	// encoder's feature width.
	ProjectorDims []int
}

// NewBarlowTwins returns Barlow Twins with the paper's defaults (see BarlowTwins).
func NewBarlowTwins() *BarlowTwins { return &BarlowTwins{Lambda: 5e-3} }

// Name implements Method.
func (m *BarlowTwins) Name() string { return "barlowtwins" }

// Views implements Method: two views of each image.
func (m *BarlowTwins) Views() int { return 2 }

// Loss implements Method.
func (m *BarlowTwins) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	feats := EncodeViews(scope, enc, views)
	z := headPerView(MethodScope(scope, m).In("projector"), feats, headDims(m.ProjectorDims, enc, 3, 4))
	return BarlowTwinsLoss(z[0], z[1], m.Lambda)
}

// BarlowTwinsLoss is the Barlow Twins loss of two views' embeddings z1, z2 [B, D]:
//
//	ẑ = (z − mean_b z)/√(var_b z + ε)        per dimension, over the batch (biased variance, ε = 1e-5)
//	C_ij = (1/B) Σ_b ẑ1_bi · ẑ2_bj            the D×D cross-correlation
//	L = Σ_i (1 − C_ii)² + λ Σ_i Σ_{j≠i} C_ij²
func BarlowTwinsLoss(z1, z2 *graph.Node, lambda float64) *graph.Node {
	g := z1.Graph()
	b, d := z1.Shape().Dimensions[0], z1.Shape().Dimensions[1]
	c := graph.DivScalar(graph.Einsum("bi,bj->ij", headStandardize(z1), headStandardize(z2)), float64(b))
	diag := graph.Equal(graph.Iota(g, shapes.Make(dtypes.Int32, d, d), 0), graph.Iota(g, shapes.Make(dtypes.Int32, d, d), 1))
	zero := graph.ZerosLike(c)
	onDiag := graph.ReduceAllSum(graph.Where(diag, graph.Square(graph.OneMinus(c)), zero))
	offDiag := graph.ReduceAllSum(graph.Where(diag, zero, graph.Square(c)))
	return graph.Add(onDiag, graph.MulScalar(offDiag, lambda))
}

func init() { Register("barlowtwins", func() Method { return NewBarlowTwins() }) }
