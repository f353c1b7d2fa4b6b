package ssl

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Collapse describes how spread out an encoder's representations are at one point of a
// run, measured on a fixed batch of un-augmented images in inference mode. A collapsed
// encoder maps every image to (nearly) the same point, or to a low-dimensional subspace;
// the pretext loss alone often does not show it (BYOL, SimSiam and DINO can reach a low
// loss with a constant output).
type Collapse struct {
	// Step is the global step after which it was measured (Pretrain measures after steps,
	// never at initialisation).
	Step int
	// Loss is the pretext loss of that step.
	Loss float64
	// Std is the mean over feature dimensions of the standard deviation across images of
	// the L2-normalised features (Chen & He 2021, §4.1; lightly's std_of_l2_normalized).
	// Features spread uniformly on the sphere give about 1/√d; a collapsed encoder gives 0.
	Std float64
	// NormalizedStd is Std·√d: about 1 for well-spread features, 0 for collapse.
	NormalizedStd float64
	// EffectiveRank is exp(H(p)) with p_i = σ_i/Σσ_j over the singular values of the
	// [images, d] feature matrix (Roy & Vetterli 2007; used as RankMe by Garrido et al.
	// 2023): between 1 (all features on one line) and min(images, d).
	EffectiveRank float64
	// Collapsed is true when NormalizedStd < CollapseStdThreshold or EffectiveRank <
	// CollapseRankThreshold; Why says which.
	Collapsed bool
}

// CollapseStdThreshold is the NormalizedStd below which representations count as
// collapsed: a tenth of what features spread uniformly on the sphere give.
const CollapseStdThreshold = 0.1

// CollapseRankThreshold is the EffectiveRank below which representations count as
// collapsed: the features lie (nearly) on one line.
const CollapseRankThreshold = 2

// Why names the conditions that made the measurement count as collapsed (only those that
// hold), e.g. "std·√d 0.042 < 0.1"; it is empty when the representations did not collapse.
func (c Collapse) Why() string {
	var why []string
	if c.NormalizedStd < CollapseStdThreshold {
		why = append(why, fmt.Sprintf("std·√d %.3f < %g", c.NormalizedStd, CollapseStdThreshold))
	}
	if c.EffectiveRank < CollapseRankThreshold {
		why = append(why, fmt.Sprintf("effective rank %.2f < %d", c.EffectiveRank, CollapseRankThreshold))
	}
	return strings.Join(why, " and ")
}

// String formats the measurement for logs.
func (c Collapse) String() string {
	s := fmt.Sprintf("step %d: loss %.4f, std·√d %.3f, effective rank %.1f", c.Step, c.Loss, c.NormalizedStd, c.EffectiveRank)
	if c.Collapsed {
		s += " (COLLAPSED)"
	}
	return s
}

// MeasureCollapse computes Std, NormalizedStd, EffectiveRank and Collapsed of features
// [n][d] (n ≥ 2). Step and Loss are left for the caller.
func MeasureCollapse(feats [][]float32) (Collapse, error) {
	n := len(feats)
	if n < 2 {
		return Collapse{}, errors.New("ssl: collapse needs at least 2 feature rows")
	}
	d := len(feats[0])
	if d == 0 {
		return Collapse{}, errors.New("ssl: collapse: empty feature rows")
	}
	normed := make([][]float64, n)
	raw := mat.NewDense(n, d, nil)
	for i, row := range feats {
		if len(row) != d {
			return Collapse{}, fmt.Errorf("ssl: collapse: row %d has %d features, want %d", i, len(row), d)
		}
		var norm float64
		for j, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return Collapse{}, fmt.Errorf("ssl: collapse: feature %d of row %d is %v", j, i, v)
			}
			norm += float64(v) * float64(v)
			raw.Set(i, j, float64(v))
		}
		norm = math.Max(math.Sqrt(norm), 1e-12)
		normed[i] = make([]float64, d)
		for j, v := range row {
			normed[i][j] = float64(v) / norm
		}
	}
	var stdSum float64
	for j := range d {
		var mean float64
		for i := range n {
			mean += normed[i][j]
		}
		mean /= float64(n)
		var ss float64
		for i := range n {
			diff := normed[i][j] - mean
			ss += diff * diff
		}
		stdSum += math.Sqrt(ss / float64(n-1))
	}
	c := Collapse{Std: stdSum / float64(d)}
	c.NormalizedStd = c.Std * math.Sqrt(float64(d))

	var svd mat.SVD
	if !svd.Factorize(raw, mat.SVDNone) {
		return Collapse{}, errors.New("ssl: collapse: SVD did not converge")
	}
	sv := svd.Values(nil)
	var total float64
	for _, s := range sv {
		total += s
	}
	if total == 0 {
		c.EffectiveRank = 1 // all-zero features: a single point.
	} else {
		var h float64
		for _, s := range sv {
			if p := s / total; p > 0 {
				h -= p * math.Log(p)
			}
		}
		c.EffectiveRank = math.Exp(h)
	}
	c.Collapsed = c.NormalizedStd < CollapseStdThreshold || c.EffectiveRank < CollapseRankThreshold
	return c, nil
}
