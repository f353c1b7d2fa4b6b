package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/models"
)

// VICReg is variance-invariance-covariance regularisation (Bardes, Ponce & LeCun, ICLR
// 2022): the two views' embeddings are made to agree (invariance), each embedding
// dimension keeps a standard deviation of at least γ over the batch (variance), and the
// dimensions are decorrelated (covariance). See VICRegTerms.
//
// Defaults (NewVICReg), the paper's: λ = 25 (invariance), μ = 25 (variance), ν = 1
// (covariance), γ = 1, ε = 10⁻⁴; expander of 3 layers Linear-BN-ReLU, Linear-BN-ReLU,
// Linear, each 4F wide for encoder features of width F (the paper: 8192 on ResNet-50's
// 2048; 2048 for ResNet-18, 256 for a width-8 ResNet-18).
type VICReg struct {
	// Lambda, Mu and Nu weigh the invariance, variance and covariance terms.
	Lambda, Mu, Nu float64
	// Gamma is the target standard deviation of the variance hinge; Epsilon is added to
	// the variance under the square root.
	Gamma, Epsilon float64
	// ExpanderDims are the expander's layer widths; nil means 3 layers of 4× the encoder's
	// feature width.
	ExpanderDims []int
}

// NewVICReg returns VICReg with the paper's defaults (see VICReg).
func NewVICReg() *VICReg { return &VICReg{Lambda: 25, Mu: 25, Nu: 1, Gamma: 1, Epsilon: 1e-4} }

// Name implements Method.
func (m *VICReg) Name() string { return "vicreg" }

// Views implements Method: two views of each image.
func (m *VICReg) Views() int { return 2 }

// Loss implements Method.
func (m *VICReg) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	feats := EncodeViews(scope, enc, views)
	z := headPerView(MethodScope(scope, m).In("expander"), feats, headDims(m.ExpanderDims, enc, 3, 4))
	inv, variance, cov := VICRegTerms(z[0], z[1], m.Gamma, m.Epsilon)
	return graph.Add(graph.Add(graph.MulScalar(inv, m.Lambda), graph.MulScalar(variance, m.Mu)), graph.MulScalar(cov, m.Nu))
}

// VICRegLoss is the VICReg loss λ·s + μ·v + ν·c of VICRegTerms with γ = 1 and ε = 1e-4.
func VICRegLoss(za, zb *graph.Node, lambda, mu, nu float64) *graph.Node {
	inv, variance, cov := VICRegTerms(za, zb, 1, 1e-4)
	return graph.Add(graph.Add(graph.MulScalar(inv, lambda), graph.MulScalar(variance, mu)), graph.MulScalar(cov, nu))
}

// VICRegTerms returns the three unweighted terms of VICReg for the two views' embeddings
// za, zb [B, D], as in the paper's reference code:
//
//	s = (1/(B·D)) Σ_b Σ_i (za_bi − zb_bi)²                              invariance (MSE)
//	v = ½·(1/D) Σ_i max(0, γ − √(Var(za_·i) + ε)) + the same for zb       variance
//	c = (1/D) Σ_{i≠j} Cov(za)_ij² + the same for zb                       covariance
//
// with Var and Cov over the batch, unbiased (divided by B − 1).
func VICRegTerms(za, zb *graph.Node, gamma, eps float64) (invariance, variance, covariance *graph.Node) {
	invariance = graph.ReduceAllMean(graph.Square(graph.Sub(za, zb)))
	v := func(z *graph.Node) *graph.Node {
		b := z.Shape().Dimensions[0]
		centred := graph.Sub(z, graph.ReduceAndKeep(z, graph.ReduceMean, 0))
		std := graph.Sqrt(graph.AddScalar(graph.DivScalar(graph.ReduceSum(graph.Square(centred), 0), float64(b-1)), eps))
		return graph.ReduceAllMean(graph.MaxScalar(graph.Neg(graph.AddScalar(std, -gamma)), 0)) // max(0, γ − std)
	}
	c := func(z *graph.Node) *graph.Node {
		g := z.Graph()
		b, d := z.Shape().Dimensions[0], z.Shape().Dimensions[1]
		centred := graph.Sub(z, graph.ReduceAndKeep(z, graph.ReduceMean, 0))
		cov := graph.DivScalar(graph.Einsum("bi,bj->ij", centred, centred), float64(b-1))
		offDiag := graph.NotEqual(graph.Iota(g, shapes.Make(dtypes.Int32, d, d), 0), graph.Iota(g, shapes.Make(dtypes.Int32, d, d), 1))
		return graph.DivScalar(graph.ReduceAllSum(graph.Where(offDiag, graph.Square(cov), graph.ZerosLike(cov))), float64(d))
	}
	variance = graph.MulScalar(graph.Add(v(za), v(zb)), 0.5)
	covariance = graph.Add(c(za), c(zb))
	return invariance, variance, covariance
}

func init() { Register("vicreg", func() Method { return NewVICReg() }) }
