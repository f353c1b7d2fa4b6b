package metrics

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Out-of-distribution (OOD) detection scores. Every score in this file is
// oriented so that HIGHER means MORE in-distribution; OODAUROC and FPRAtTPR take
// scores with that orientation. Scores are computed on frozen features or
// logits of a trained model, on the host.

// MaxSoftmaxScore returns the maximum softmax probability of each row of logits
// (Hendrycks & Gimpel 2017), max_k exp(l_k) / Σ_j exp(l_j), computed stably.
// Higher means more in-distribution. A row that is empty or holds a NaN or ±Inf
// logit gives NaN.
func MaxSoftmaxScore(logits [][]float64) []float64 {
	out := make([]float64, len(logits))
	for i, row := range logits {
		if !finiteRow(row) {
			out[i] = math.NaN()
			continue
		}
		// max softmax = 1 / Σ_j exp(l_j - max), exact for the largest term.
		top := floats.Max(row)
		var sum float64
		for _, l := range row {
			sum += math.Exp(l - top)
		}
		out[i] = 1 / sum
	}
	return out
}

// EnergyScore returns the negative free energy of each row of logits (Liu et al.
// 2020, "Energy-based Out-of-distribution Detection"):
//
//	score = -E(x) = T · log Σ_k exp(l_k / T)
//
// Higher means more in-distribution. T = 1 is the paper's default. A row that is
// empty or holds a NaN or ±Inf logit, or a temperature that is not positive and
// finite, gives NaN.
func EnergyScore(logits [][]float64, temperature float64) []float64 {
	out := make([]float64, len(logits))
	okT := temperature > 0 && !math.IsInf(temperature, 0)
	scaled := []float64{}
	for i, row := range logits {
		if !okT || !finiteRow(row) {
			out[i] = math.NaN()
			continue
		}
		scaled = append(scaled[:0], row...)
		floats.Scale(1/temperature, scaled)
		out[i] = temperature * floats.LogSumExp(scaled)
	}
	return out
}

func finiteRow(row []float64) bool {
	if len(row) == 0 {
		return false
	}
	for _, x := range row {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// MahalanobisRidge is the relative ridge FitMahalanobis adds to the diagonal of
// the shared covariance: λ = MahalanobisRidge · tr(Σ)/D, small enough not to
// change a well-conditioned Σ and large enough to make a rank-deficient one
// (more feature dimensions than examples) invertible.
const MahalanobisRidge = 1e-6

// Mahalanobis is the class-conditional Gaussian OOD detector of Lee et al. 2018
// ("A Simple Unified Framework for Detecting Out-of-Distribution Samples and
// Adversarial Attacks"), without input preprocessing or feature ensembles: a
// mean per class and one covariance shared by all classes, fitted on
// in-distribution training features.
// Build it with FitMahalanobis; the zero value scores every row NaN.
type Mahalanobis struct {
	Means  [][]float64 // Means[k] is the mean feature vector of class k; read only
	Lambda float64     // the ridge λ added to the covariance diagonal
	// whiten is L⁻¹ where Σ + λI = L Lᵀ; wMeans[k] = L⁻¹ μ_k.
	whiten *mat.TriDense
	wMeans [][]float64
}

// FitMahalanobis fits the class means and the shared (tied) covariance of
// in-distribution features, labels in [0, K) with every class present:
//
//	μ_k = mean of { x_i : y_i = k },   Σ = (1/N) Σ_i (x_i - μ_{y_i})(x_i - μ_{y_i})ᵀ
//
// (the maximum-likelihood estimate, as in Lee et al.), regularised to
// Σ + λI with λ = MahalanobisRidge · tr(Σ)/D. Errors: empty or ragged input,
// a negative label (ErrLabel), a class in [0, max label] without examples
// (ErrEmpty), non-finite features (ErrScore), features that do not vary at all
// (tr Σ = 0, ErrShape).
func FitMahalanobis(feats [][]float64, labels []int) (*Mahalanobis, error) {
	if len(feats) == 0 {
		return nil, fmt.Errorf("%w (0 feature rows)", ErrEmpty)
	}
	if len(feats) != len(labels) {
		return nil, fmt.Errorf("%w: %d feature rows but %d labels", ErrShape, len(feats), len(labels))
	}
	d := len(feats[0])
	if d == 0 {
		return nil, fmt.Errorf("%w: feature rows have no columns", ErrShape)
	}
	classes := 0
	for i, row := range feats {
		if len(row) != d {
			return nil, fmt.Errorf("%w: feature row %d has %d columns, row 0 has %d", ErrShape, i, len(row), d)
		}
		if err := checkFinite(fmt.Sprintf("feats[%d]", i), row); err != nil {
			return nil, err
		}
		if labels[i] < 0 {
			return nil, fmt.Errorf("%w: label[%d] = %d is negative", ErrLabel, i, labels[i])
		}
		classes = max(classes, labels[i]+1)
	}
	means := make([][]float64, classes)
	counts := make([]int, classes)
	for k := range means {
		means[k] = make([]float64, d)
	}
	for i, row := range feats {
		floats.Add(means[labels[i]], row)
		counts[labels[i]]++
	}
	for k, c := range counts {
		if c == 0 {
			return nil, fmt.Errorf("%w: class %d has no examples (labels must cover [0, %d))", ErrEmpty, k, classes)
		}
		floats.Scale(1/float64(c), means[k])
	}
	centered := mat.NewDense(len(feats), d, nil)
	for i, row := range feats {
		for j, x := range row {
			centered.Set(i, j, x-means[labels[i]][j])
		}
	}
	cov := mat.NewSymDense(d, nil)
	cov.SymRankK(cov, 1/float64(len(feats)), centered.T())
	var trace float64
	for j := range d {
		trace += cov.At(j, j)
	}
	if !(trace > 0) {
		return nil, fmt.Errorf("%w: features do not vary within classes (covariance trace %v)", ErrShape, trace)
	}
	lambda := MahalanobisRidge * trace / float64(d)
	for j := range d {
		cov.SetSym(j, j, cov.At(j, j)+lambda)
	}
	var chol mat.Cholesky
	if !chol.Factorize(cov) {
		return nil, fmt.Errorf("%w: covariance is not positive definite even with ridge %v", ErrShape, lambda)
	}
	var l mat.TriDense
	chol.LTo(&l)
	whiten := mat.NewTriDense(d, mat.Lower, nil)
	if err := whiten.InverseTri(&l); err != nil {
		return nil, fmt.Errorf("%w: inverting the covariance factor: %v", ErrShape, err)
	}
	m := &Mahalanobis{Means: means, Lambda: lambda, whiten: whiten, wMeans: make([][]float64, classes)}
	for k, mu := range means {
		var w mat.VecDense
		w.MulVec(whiten, mat.NewVecDense(d, mu))
		m.wMeans[k] = w.RawVector().Data
	}
	return m, nil
}

// Score returns, for each feature row x, the negative squared Mahalanobis
// distance to the closest class mean (Lee et al.'s confidence score):
//
//	score(x) = -min_k (x - μ_k)ᵀ (Σ + λI)⁻¹ (x - μ_k)
//
// Higher (closer to 0) means more in-distribution. A row of the wrong length or
// with a NaN or ±Inf value gives NaN.
func (m *Mahalanobis) Score(feats [][]float64) []float64 {
	out := make([]float64, len(feats))
	if m == nil || m.whiten == nil {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	d := len(m.wMeans[0])
	var valid []int
	for i, row := range feats {
		if len(row) != d || !finiteRow(row) {
			out[i] = math.NaN()
			continue
		}
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return out
	}
	// (x-μ)ᵀ(LLᵀ)⁻¹(x-μ) = |L⁻¹x - L⁻¹μ|², whitening all rows in one product X L⁻ᵀ.
	x := mat.NewDense(len(valid), d, nil)
	for r, i := range valid {
		x.SetRow(r, feats[i])
	}
	var w mat.Dense
	w.Mul(x, m.whiten.T())
	for r, i := range valid {
		wx := w.RawRowView(r)
		best := math.Inf(1)
		for _, wm := range m.wMeans {
			best = min(best, floats.Distance(wx, wm, 2))
		}
		out[i] = -best * best
	}
	return out
}

// OODAUROC returns the area under the ROC curve of separating in-distribution
// examples (positives) from out-of-distribution ones by a score where higher
// means more in-distribution, as every score of this file: 1 is perfect
// separation, 0.5 chance, below 0.5 a score oriented the wrong way. It is
// ROCAUC with ties counting 1/2. Either set empty is ErrEmpty; NaN or ±Inf scores
// are ErrScore.
func OODAUROC(inScores, outScores []float64) (float64, error) {
	score, pos, err := oodPool(inScores, outScores)
	if err != nil {
		return 0, err
	}
	return ROCAUC(score, pos)
}

// FPRAtTPR returns the false positive rate on OOD examples at the threshold that
// keeps a fraction tpr of the in-distribution examples (FPR@95%TPR with tpr =
// 0.95, a common OOD metric): with τ the ⌈tpr·n_in⌉-th largest in-distribution
// score,
//
//	FPR = #{ OOD scores >= τ } / n_out
//
// Lower is better. tpr must be in (0, 1]; errors are otherwise OODAUROC's.
func FPRAtTPR(inScores, outScores []float64, tpr float64) (float64, error) {
	if !(tpr > 0 && tpr <= 1) {
		return 0, fmt.Errorf("%w: true positive rate %v, want (0, 1]", ErrParam, tpr)
	}
	if _, _, err := oodPool(inScores, outScores); err != nil {
		return 0, err
	}
	in := slices.Clone(inScores)
	slices.Sort(in)
	k := int(math.Ceil(tpr * float64(len(in))))
	tau := in[len(in)-k]
	fp := 0
	for _, s := range outScores {
		if s >= tau {
			fp++
		}
	}
	return float64(fp) / float64(len(outScores)), nil
}

// oodPool validates in- and out-of-distribution scores and pools them.
func oodPool(inScores, outScores []float64) ([]float64, []bool, error) {
	if len(inScores) == 0 || len(outScores) == 0 {
		return nil, nil, fmt.Errorf("%w: %d in-distribution and %d OOD scores, need both", ErrEmpty, len(inScores), len(outScores))
	}
	if err := checkFinite("inScores", inScores); err != nil {
		return nil, nil, err
	}
	if err := checkFinite("outScores", outScores); err != nil {
		return nil, nil, err
	}
	score := append(append([]float64(nil), inScores...), outScores...)
	pos := make([]bool, len(score))
	for i := range inScores {
		pos[i] = true
	}
	return score, pos, nil
}
