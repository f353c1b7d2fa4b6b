// Package optim holds the optimisation recipes medssl trains with: an update rule (Adam with
// decoupled weight decay, SGD with momentum, LARS), a learning-rate schedule stepped per
// iteration (linear warm-up, then constant, cosine or step decay) and a weight-decay
// schedule, built as a GoMLX optimizer (optimizer.Interface) for ssl.Pretrain and
// supervised.Train.
//
// Schedules are computed in the graph from the global step, so a run resumed from a
// checkpoint continues exactly where it stopped. A Config is plain data: it is saved in
// study fingerprints and reports as it is.
package optim

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Rule is an update rule.
type Rule string

// The update rules.
const (
	// Adam is Adam (Kingma & Ba 2015) with decoupled weight decay, AdamW (Loshchilov &
	// Hutter 2019): w ← w − lr·(m̂/(√v̂+ε) + wd·w). Weight decay 0 is plain Adam.
	Adam Rule = "adam"
	// SGD is stochastic gradient descent with momentum as PyTorch's torch.optim.SGD: weight
	// decay is added to the gradient (g + wd·w), b ← μ·b + g, w ← w − lr·b (Nesterov:
	// w ← w − lr·(g + μ·b)).
	SGD Rule = "sgd"
	// LARS is SGD with momentum whose step for each weight tensor is scaled by the trust
	// ratio η‖w‖/(‖g‖ + wd·‖w‖ + ε) (You et al. 2017), as SimCLR, BYOL and solo-learn train:
	// d = (g + wd·w)·trust, b ← μ·b + d, w ← w − lr·b. With ClipLR (solo-learn's clip_lr,
	// Nvidia's LARC) the trust ratio is divided by lr and clipped at 1, so the effective
	// rate is min(η‖w‖/(…), lr). A tensor whose norm or gradient norm is 0 takes the plain
	// gradient step.
	LARS Rule = "lars"
)

// Decay is the learning-rate schedule after the warm-up.
type Decay string

// The decays.
const (
	// Constant keeps the peak learning rate.
	Constant Decay = "constant"
	// Cosine decays from the peak to FinalFraction·peak over the steps after the warm-up:
	// lr(t) = end + ½(peak − end)(1 + cos(π(t − W)/(T − W))).
	Cosine Decay = "cosine"
	// Steps multiplies the rate by Gamma at each of Milestones (PyTorch's MultiStepLR).
	Steps Decay = "steps"
)

// Schedule is a learning-rate schedule over T steps, stepped per iteration.
type Schedule struct {
	// WarmupEpochs is the length of the linear warm-up, in epochs (0: none). When the whole
	// run is no longer than the warm-up, the warm-up lasts 10% of the run instead
	// (solo-learn's rule for short runs). During the warm-up
	// lr(t) = start + t·(peak − start)/max(W − 1, 1), t = 0 … W−1.
	WarmupEpochs float64
	// WarmupStart is the rate at step 0 as a fraction of the peak (solo-learn: 3e-5 absolute).
	WarmupStart float64
	// Decay after the warm-up.
	Decay Decay
	// FinalFraction is the cosine's end as a fraction of the peak (0: decay to 0).
	FinalFraction float64
	// Milestones are fractions of the run (in (0, 1]) at which Steps multiplies the rate by
	// Gamma: milestone f is step round(f·T).
	Milestones []float64
	Gamma      float64
}

// Config is a complete optimisation recipe. Start from one of the constructors (AdamConfig,
// SGDConfig, LARSConfig, MedMNIST) and change fields; every field means what it says.
type Config struct {
	Rule Rule
	// LearningRate is the peak learning rate (> 0): the rate after the warm-up.
	LearningRate float64
	// WeightDecay (>= 0): decoupled for Adam, added to the gradient for SGD and LARS.
	WeightDecay float64
	// WeightDecayEnd, when CosineWeightDecay is set, is the weight decay at the end of the
	// run: wd follows a cosine from WeightDecay to WeightDecayEnd over the whole run, as in
	// DINO (0.04 → 0.4).
	CosineWeightDecay bool
	WeightDecayEnd    float64
	// Momentum μ (SGD, LARS) and Nesterov momentum (SGD).
	Momentum float64
	Nesterov bool
	// Beta1, Beta2 and Epsilon of Adam.
	Beta1, Beta2, Epsilon float64
	// Eta is LARS's trust coefficient η; ClipLR clips the LARS rate at the learning rate.
	Eta    float64
	ClipLR bool
	// ExcludeBiasAndNorm leaves the parameters with at most one dimension (biases, batch-
	// and layer-norm scales and offsets) out of weight decay and of the LARS adaptation, as
	// SimCLR, BYOL and solo-learn do.
	ExcludeBiasAndNorm bool
	Schedule           Schedule
}

// AdamConfig is Adam with PyTorch's defaults (β 0.9, 0.999, ε 1e-8), no weight decay and
// a constant learning rate lr.
func AdamConfig(lr float64) Config {
	return Config{Rule: Adam, LearningRate: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8, Schedule: Schedule{Decay: Constant}}
}

// SGDConfig is SGD with momentum 0.9, no weight decay and a constant learning rate lr.
func SGDConfig(lr float64) Config {
	return Config{Rule: SGD, LearningRate: lr, Momentum: 0.9, Schedule: Schedule{Decay: Constant}}
}

// LARSConfig is LARS as in SimCLR and BYOL (momentum 0.9, η 0.001, biases and norms
// excluded), with weight decay wd, a 10-epoch linear warm-up from 0 and a cosine decay to
// 0 of the peak rate lr.
func LARSConfig(lr, wd float64) Config {
	return Config{Rule: LARS, LearningRate: lr, WeightDecay: wd, Momentum: 0.9, Eta: 0.001, ExcludeBiasAndNorm: true,
		Schedule: Schedule{WarmupEpochs: 10, Decay: Cosine}}
}

// MedMNIST is the MedMNIST v2 training recipe (Yang et al. 2023): Adam with learning rate
// 1e-3 (GoMLX's ε 1e-7, as the PyTorch reference's 1e-8 makes no measurable difference),
// no weight decay, ×0.1 at 50% and 75% of the run.
func MedMNIST() Config {
	c := AdamConfig(1e-3)
	c.Epsilon = 1e-7
	c.Schedule = Schedule{Decay: Steps, Milestones: []float64{0.5, 0.75}, Gamma: 0.1}
	return c
}

// Validate reports the first setting that cannot be trained with, naming it.
func (c Config) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Rule != Adam && c.Rule != SGD && c.Rule != LARS:
		return fmt.Errorf("optim: unknown rule %q (want adam, sgd or lars)", c.Rule)
	case !(c.LearningRate > 0) || !finite(c.LearningRate):
		return fmt.Errorf("optim: learning rate %v, want > 0 and finite", c.LearningRate)
	case !(c.WeightDecay >= 0) || !finite(c.WeightDecay):
		return fmt.Errorf("optim: weight decay %v, want >= 0 and finite", c.WeightDecay)
	case c.CosineWeightDecay && (!(c.WeightDecayEnd >= 0) || !finite(c.WeightDecayEnd)):
		return fmt.Errorf("optim: final weight decay %v, want >= 0 and finite", c.WeightDecayEnd)
	case c.Rule != Adam && !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("optim: momentum %v, want [0, 1)", c.Momentum)
	case c.Rule == Adam && !(c.Beta1 >= 0 && c.Beta1 < 1 && c.Beta2 >= 0 && c.Beta2 < 1 && c.Epsilon > 0):
		return fmt.Errorf("optim: Adam β1 %v, β2 %v, ε %v: want β in [0, 1) and ε > 0 (start from optim.AdamConfig)", c.Beta1, c.Beta2, c.Epsilon)
	case c.Rule == LARS && !(c.Eta > 0):
		return fmt.Errorf("optim: LARS trust coefficient η %v, want > 0 (start from optim.LARSConfig)", c.Eta)
	case c.Nesterov && (c.Rule != SGD || c.Momentum == 0):
		return errors.New("optim: Nesterov momentum needs the SGD rule and a momentum > 0")
	}
	return c.Schedule.validate()
}

func (s Schedule) validate() error {
	switch {
	case !(s.WarmupEpochs >= 0) || math.IsInf(s.WarmupEpochs, 0):
		return fmt.Errorf("optim: warm-up of %v epochs, want >= 0", s.WarmupEpochs)
	case !(s.WarmupStart >= 0 && s.WarmupStart <= 1):
		return fmt.Errorf("optim: warm-up start %v, want a fraction of the peak in [0, 1]", s.WarmupStart)
	case s.Decay != Constant && s.Decay != Cosine && s.Decay != Steps:
		return fmt.Errorf("optim: unknown decay %q (want constant, cosine or steps)", s.Decay)
	case !(s.FinalFraction >= 0 && s.FinalFraction <= 1):
		return fmt.Errorf("optim: cosine end %v, want a fraction of the peak in [0, 1]", s.FinalFraction)
	case s.Decay == Steps && !(s.Gamma > 0):
		return fmt.Errorf("optim: step decay factor %v, want > 0", s.Gamma)
	}
	for _, m := range s.Milestones {
		if !(m > 0 && m <= 1) {
			return fmt.Errorf("optim: milestone %v, want a fraction of the run in (0, 1]", m)
		}
	}
	return nil
}

// Scaled returns c with its learning rate multiplied by batch/256: the linear scaling rule
// the papers state their rates with ("lr = base·B/256").
func (c Config) Scaled(batch int) Config {
	c.LearningRate *= float64(batch) / 256
	return c
}

// String describes the recipe in one phrase for reports, e.g. "LARS lr 0.15, weight decay
// 1e-06, momentum 0.9, η 0.001, biases and norms excluded; 10-epoch warm-up, cosine decay".
func (c Config) String() string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
	var parts []string
	switch c.Rule {
	case Adam:
		name := "Adam"
		if c.WeightDecay > 0 || c.CosineWeightDecay {
			name = "AdamW"
		}
		parts = append(parts, fmt.Sprintf("%s lr %s, β (%s, %s), ε %s", name, g(c.LearningRate), g(c.Beta1), g(c.Beta2), g(c.Epsilon)))
	case SGD:
		parts = append(parts, fmt.Sprintf("SGD lr %s, momentum %s", g(c.LearningRate), g(c.Momentum)))
		if c.Nesterov {
			parts[0] += " (Nesterov)"
		}
	case LARS:
		parts = append(parts, fmt.Sprintf("LARS lr %s, momentum %s, η %s", g(c.LearningRate), g(c.Momentum), g(c.Eta)))
		if c.ClipLR {
			parts[0] += " clipped at lr"
		}
	default:
		parts = append(parts, string(c.Rule))
	}
	wd := "weight decay " + g(c.WeightDecay)
	if c.CosineWeightDecay {
		wd += "→" + g(c.WeightDecayEnd) + " (cosine)"
	}
	parts = append(parts, wd)
	if c.ExcludeBiasAndNorm {
		parts = append(parts, "biases and norms excluded")
	}
	s := c.Schedule
	var sched []string
	if s.WarmupEpochs > 0 {
		sched = append(sched, fmt.Sprintf("%s-epoch warm-up", g(s.WarmupEpochs)))
	}
	switch s.Decay {
	case Cosine:
		d := "cosine decay"
		if s.FinalFraction > 0 {
			d += " to " + g(s.FinalFraction) + "×"
		}
		sched = append(sched, d)
	case Steps:
		ms := make([]string, len(s.Milestones))
		for i, m := range s.Milestones {
			ms[i] = g(100*m) + "%"
		}
		sched = append(sched, fmt.Sprintf("×%s at %s", g(s.Gamma), strings.Join(ms, ", ")))
	default:
		sched = append(sched, "constant rate")
	}
	return strings.Join(parts, ", ") + "; " + strings.Join(sched, ", ")
}
