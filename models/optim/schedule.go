package optim

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
)

// Plan is the shape of a run a schedule is laid over.
type Plan struct {
	// StepsPerEpoch (> 0) converts the warm-up's epochs into steps; TotalSteps (> 0) is the
	// length of the run.
	StepsPerEpoch, TotalSteps int
	// Multipliers scale the learning rate of the variables under a scope prefix, e.g.
	// {"/encoder": 0.1} for a gentler fine-tuning of the encoder; the longest matching
	// prefix wins and 0 leaves the variables untouched.
	Multipliers map[string]float64
}

// WarmupSteps is the number of warm-up steps of s over p (see Schedule.WarmupEpochs).
func (s Schedule) WarmupSteps(p Plan) int {
	if s.WarmupEpochs <= 0 {
		return 0
	}
	w := int(math.RoundToEven(s.WarmupEpochs * float64(p.StepsPerEpoch)))
	if w >= p.TotalSteps {
		w = max(1, int(math.RoundToEven(0.1*float64(p.TotalSteps))))
	}
	return w
}

// milestoneSteps are the steps at which the Steps decay applies its factors.
func (s Schedule) milestoneSteps(p Plan) []int {
	out := make([]int, len(s.Milestones))
	for i, f := range s.Milestones {
		out[i] = int(math.Floor(f*float64(p.TotalSteps) + 0.5))
	}
	return out
}

// Rate returns the learning rate of step t (0-based: the update after t steps) for a peak
// rate peak, computed on the host; the graph computes the same (rateNode).
func (s Schedule) Rate(peak float64, t int, p Plan) float64 {
	w := s.WarmupSteps(p)
	if t < w {
		start := s.WarmupStart * peak
		return start + float64(t)*(peak-start)/float64(max(w-1, 1))
	}
	switch s.Decay {
	case Cosine:
		end := s.FinalFraction * peak
		return end + 0.5*(peak-end)*(1+math.Cos(math.Pi*float64(t-w)/float64(max(p.TotalSteps-w, 1))))
	case Steps:
		r := peak
		for _, m := range s.milestoneSteps(p) {
			if t >= m {
				r *= s.Gamma
			}
		}
		return r
	}
	return peak
}

// WeightDecayAt returns the weight decay of step t, computed on the host (see
// Config.CosineWeightDecay); the graph computes the same.
func (c Config) WeightDecayAt(t int, p Plan) float64 {
	if !c.CosineWeightDecay {
		return c.WeightDecay
	}
	return c.WeightDecayEnd + 0.5*(c.WeightDecay-c.WeightDecayEnd)*(1+math.Cos(math.Pi*float64(t)/float64(p.TotalSteps)))
}

// rateNode is Rate in the graph, for the step node t (Int64, the global step before this
// update), as a scalar of dtype.
func (s Schedule) rateNode(peak float64, t *graph.Node, p Plan, dtype dtypes.DType) *graph.Node {
	g := t.Graph()
	tf := graph.ConvertDType(t, dtype)
	var decayed *graph.Node
	switch s.Decay {
	case Cosine:
		w := s.WarmupSteps(p)
		end := s.FinalFraction * peak
		frac := graph.DivScalar(graph.AddScalar(tf, -float64(w)), float64(max(p.TotalSteps-w, 1)))
		cos := graph.Cos(graph.MulScalar(frac, math.Pi))
		decayed = graph.AddScalar(graph.MulScalar(graph.AddScalar(cos, 1), 0.5*(peak-end)), end)
	case Steps:
		decayed = graph.Scalar(g, dtype, peak)
		for _, m := range s.milestoneSteps(p) {
			reached := graph.GreaterOrEqual(t, graph.Scalar(g, dtypes.Int64, m))
			decayed = graph.Where(reached, graph.MulScalar(decayed, s.Gamma), decayed)
		}
	default:
		decayed = graph.Scalar(g, dtype, peak)
	}
	w := s.WarmupSteps(p)
	if w == 0 {
		return decayed
	}
	start := s.WarmupStart * peak
	warm := graph.AddScalar(graph.MulScalar(tf, (peak-start)/float64(max(w-1, 1))), start)
	return graph.Where(graph.LessThan(t, graph.Scalar(g, dtypes.Int64, w)), warm, decayed)
}

// weightDecayNode is WeightDecayAt in the graph.
func (c Config) weightDecayNode(t *graph.Node, p Plan, dtype dtypes.DType) *graph.Node {
	g := t.Graph()
	if !c.CosineWeightDecay {
		return graph.Scalar(g, dtype, c.WeightDecay)
	}
	frac := graph.DivScalar(graph.ConvertDType(t, dtype), float64(p.TotalSteps))
	cos := graph.Cos(graph.MulScalar(frac, math.Pi))
	return graph.AddScalar(graph.MulScalar(graph.AddScalar(cos, 1), 0.5*(c.WeightDecay-c.WeightDecayEnd)), c.WeightDecayEnd)
}
