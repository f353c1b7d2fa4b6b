package optim

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/medssl/medssl"
)

// A tiny model: a weight matrix W [2, 3] and a bias b [3] with loss
// L = Σ_ij (W_ij − T_ij)² / 2 + Σ_j b_j·c_j, so ∂L/∂W = W − T and ∂L/∂b = c: gradients the
// naive references below can write out.
var (
	w0 = [][]float64{{0.5, -1, 2}, {0.25, 3, -0.5}}
	tg = [][]float64{{1, 0, 1}, {-1, 2, 0}}
	b0 = []float64{0.1, -0.2, 0.3}
	cb = []float64{1, -2, 0.5}
)

// run trains the tiny model for steps steps with c over plan p (continuing store if it
// has state) and returns W, b and the learning rate of each step.
func run(t *testing.T, store *model.Store, c Config, p Plan, steps int) (w [][]float64, b []float64, lrs []float64) {
	t.Helper()
	opt, err := New(c, p)
	if err != nil {
		t.Fatal(err)
	}
	modelFn := func(scope *model.Scope, x *graph.Node) *graph.Node {
		g := x.Graph()
		dense := scope.In("dense")
		wv := dense.VariableWithValue("weights", toFloat32(w0)).NodeValue(g)
		bv := dense.VariableWithValue("biases", toFloat32([][]float64{b0})[0]).NodeValue(g)
		diff := graph.Sub(wv, graph.Const(g, toFloat32(tg)))
		loss := graph.Add(graph.MulScalar(graph.ReduceAllSum(graph.Square(diff)), 0.5),
			graph.ReduceAllSum(graph.Mul(bv, graph.Const(g, toFloat32([][]float64{cb})[0]))))
		loss = graph.Add(loss, graph.ReduceAllSum(graph.MulScalar(x, 0)))
		train.AddMainLoss(loss)
		return loss
	}
	trainer := train.NewTrainer(medssl.MustBackend(), store, modelFn, nil, opt, nil, nil)
	for range steps {
		if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{tensors.FromValue([]float32{1})}}); err != nil {
			t.Fatal(err)
		}
		lr := store.GetVariable("/" + optimizer.Scope + "/" + optimizer.ParamLearningRate)
		lrs = append(lrs, float64(lr.MustValue().Value().(float32)))
	}
	wf := store.GetVariable("/dense/weights").MustValue().Value().([][]float32)
	bf := store.GetVariable("/dense/biases").MustValue().Value().([]float32)
	w = make([][]float64, len(wf))
	for i := range wf {
		for _, v := range wf[i] {
			w[i] = append(w[i], float64(v))
		}
	}
	for _, v := range bf {
		b = append(b, float64(v))
	}
	return w, b, lrs
}

func toFloat32(m [][]float64) [][]float32 {
	out := make([][]float32, len(m))
	for i := range m {
		for _, v := range m[i] {
			out[i] = append(out[i], float32(v))
		}
	}
	return out
}

// naive replays the update rules of the package doc on flat float64 tensors: the matrix
// (never excluded) and the bias (excluded when c.ExcludeBiasAndNorm).
func naive(c Config, p Plan, steps int) (w [][]float64, b []float64) {
	type tensor struct {
		x, m1, m2, buf []float64
		grad           func([]float64) []float64
		excluded       bool
	}
	flatW := append(append([]float64{}, w0[0]...), w0[1]...)
	flatT := append(append([]float64{}, tg[0]...), tg[1]...)
	ts := []*tensor{
		{x: flatW, grad: func(x []float64) []float64 {
			g := make([]float64, len(x))
			for i := range x {
				g[i] = x[i] - flatT[i]
			}
			return g
		}},
		{x: append([]float64{}, b0...), grad: func([]float64) []float64 { return append([]float64{}, cb...) }, excluded: c.ExcludeBiasAndNorm},
	}
	norm := func(v []float64) float64 {
		var s float64
		for _, x := range v {
			s += x * x
		}
		return math.Sqrt(s)
	}
	for t := range steps {
		lr, wd := c.Schedule.Rate(c.LearningRate, t, p), c.WeightDecayAt(t, p)
		for _, tn := range ts {
			g := tn.grad(tn.x)
			n := len(tn.x)
			if tn.m1 == nil {
				tn.m1, tn.m2, tn.buf = make([]float64, n), make([]float64, n), make([]float64, n)
			}
			d := append([]float64{}, g...)
			switch c.Rule {
			case Adam:
				for i := range d {
					tn.m1[i] = c.Beta1*tn.m1[i] + (1-c.Beta1)*g[i]
					tn.m2[i] = c.Beta2*tn.m2[i] + (1-c.Beta2)*g[i]*g[i]
					step := tn.m1[i] / (1 - math.Pow(c.Beta1, float64(t+1))) /
						(math.Sqrt(tn.m2[i]/(1-math.Pow(c.Beta2, float64(t+1)))) + c.Epsilon)
					if !tn.excluded {
						step += wd * tn.x[i]
					}
					tn.x[i] -= lr * step
				}
				continue
			case SGD:
				if !tn.excluded {
					for i := range d {
						d[i] += wd * tn.x[i]
					}
				}
			case LARS:
				wn, gn := norm(tn.x), norm(g)
				if !tn.excluded && wn > 0 && gn > 0 {
					trust := c.Eta * wn / (gn + wd*wn + 1e-8)
					if c.ClipLR {
						trust = math.Min(trust/lr, 1)
					}
					for i := range d {
						d[i] = (g[i] + wd*tn.x[i]) * trust
					}
				}
			}
			for i := range d {
				tn.buf[i] = c.Momentum*tn.buf[i] + d[i]
				step := tn.buf[i]
				if c.Nesterov {
					step = d[i] + c.Momentum*tn.buf[i]
				}
				tn.x[i] -= lr * step
			}
		}
	}
	return [][]float64{ts[0].x[:3], ts[0].x[3:]}, ts[1].x
}

func close(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Errorf("%s[%d] = %.7g, want %.7g", what, i, got[i], want[i])
		}
	}
}

// Every rule's updates over several steps equal the formulas written out in float64,
// including the parameters left out of weight decay and the LARS adaptation.
func TestUpdatesMatchFormulas(t *testing.T) {
	plan := Plan{StepsPerEpoch: 2, TotalSteps: 6}
	lars := LARSConfig(0.4, 1e-2)
	lars.Eta = 0.02
	larsClip := lars
	larsClip.ClipLR = true
	larsAll := lars
	larsAll.ExcludeBiasAndNorm = false
	adamW := AdamConfig(0.05)
	adamW.WeightDecay, adamW.ExcludeBiasAndNorm = 0.1, true
	adamW.Schedule = Schedule{WarmupEpochs: 1, Decay: Cosine}
	adamWD := adamW
	adamWD.CosineWeightDecay, adamWD.WeightDecayEnd = true, 0.4
	sgd := SGDConfig(0.1)
	sgd.WeightDecay, sgd.Nesterov = 0.05, true
	sgd.Schedule = Schedule{Decay: Steps, Milestones: []float64{0.5}, Gamma: 0.1}
	for name, c := range map[string]Config{"lars": lars, "lars clip_lr": larsClip, "lars no exclusion": larsAll,
		"adamw warmup cosine": adamW, "adamw cosine wd": adamWD, "sgd nesterov steps": sgd, "medmnist": MedMNIST()} {
		t.Run(name, func(t *testing.T) {
			w, b, _ := run(t, model.NewStore(), c, plan, 6)
			ww, wb := naive(c, plan, 6)
			close(t, "W row 0", w[0], ww[0], 1e-5)
			close(t, "W row 1", w[1], ww[1], 1e-5)
			close(t, "b", b, wb, 1e-5)
		})
	}
}

// The schedule's values at chosen steps, written out as the papers and solo-learn define
// them, equal both the host Rate and the rate the graph computes at that step.
func TestScheduleValues(t *testing.T) {
	// 10 epochs of 5 steps: warm-up 2 epochs (10 steps) from 0.1·peak, then cosine to 0.01·peak.
	p := Plan{StepsPerEpoch: 5, TotalSteps: 50}
	c := AdamConfig(0.8)
	c.Schedule = Schedule{WarmupEpochs: 2, WarmupStart: 0.1, Decay: Cosine, FinalFraction: 0.01}
	want := map[int]float64{
		0:  0.08,
		5:  0.08 + 5*(0.8-0.08)/9,
		9:  0.8,
		10: 0.8,
		30: 0.008 + 0.5*(0.8-0.008)*(1+math.Cos(math.Pi*20/40)),
		49: 0.008 + 0.5*(0.8-0.008)*(1+math.Cos(math.Pi*39/40)),
	}
	_, _, lrs := run(t, model.NewStore(), c, p, 50)
	for step, v := range want {
		if got := c.Schedule.Rate(c.LearningRate, step, p); math.Abs(got-v) > 1e-12 {
			t.Errorf("Rate(%d) = %v, want %v", step, got, v)
		}
		if math.Abs(lrs[step]-v) > 1e-6 {
			t.Errorf("graph rate at step %d = %v, want %v", step, lrs[step], v)
		}
	}
	// A run no longer than its warm-up warms up over 10% of it (solo-learn's short runs):
	// 10 epochs of warm-up over a 4-epoch run of 5 steps → 2 steps.
	short := Schedule{WarmupEpochs: 10, Decay: Cosine}
	if w := short.WarmupSteps(Plan{StepsPerEpoch: 5, TotalSteps: 20}); w != 2 {
		t.Errorf("short run warm-up %d steps, want 2", w)
	}
	// MedMNIST's steps: ×0.1 at round(0.5·T) and round(0.75·T).
	m := MedMNIST()
	p = Plan{StepsPerEpoch: 3, TotalSteps: 10}
	for step, v := range map[int]float64{0: 1e-3, 4: 1e-3, 5: 1e-4, 7: 1e-4, 8: 1e-5, 9: 1e-5} {
		if got := m.Schedule.Rate(m.LearningRate, step, p); math.Abs(got-v) > 1e-15 {
			t.Errorf("MedMNIST rate at %d = %v, want %v", step, got, v)
		}
	}
	// DINO's weight decay: cosine from 0.04 to 0.4 over the run.
	d := AdamConfig(1e-3)
	d.WeightDecay, d.CosineWeightDecay, d.WeightDecayEnd = 0.04, true, 0.4
	p = Plan{StepsPerEpoch: 10, TotalSteps: 100}
	for step, v := range map[int]float64{0: 0.04, 50: 0.22, 100: 0.4} {
		if got := d.WeightDecayAt(step, p); math.Abs(got-v) > 1e-12 {
			t.Errorf("weight decay at %d = %v, want %v", step, got, v)
		}
	}
}

// A run resumed from a checkpoint continues the schedule and the optimizer state exactly:
// 3 steps, save, reload into a new store, 3 more steps equal 6 uninterrupted steps.
func TestResumeIsExact(t *testing.T) {
	p := Plan{StepsPerEpoch: 2, TotalSteps: 6}
	c := LARSConfig(0.4, 1e-2)
	c.Schedule.WarmupEpochs = 1
	wantW, wantB, wantLR := run(t, model.NewStore(), c, p, 6)

	dir := t.TempDir()
	first := model.NewStore()
	ckpt, err := checkpoint.Build(first).Dir(dir).Done()
	if err != nil {
		t.Fatal(err)
	}
	_, _, lrs := run(t, first, c, p, 3)
	if err := ckpt.Save(); err != nil {
		t.Fatal(err)
	}
	resumed := model.NewStore()
	if _, err := checkpoint.Build(resumed).Dir(dir).Done(); err != nil {
		t.Fatal(err)
	}
	w, b, more := run(t, resumed, c, p, 3)
	lrs = append(lrs, more...)
	for i := range wantLR {
		if lrs[i] != wantLR[i] {
			t.Errorf("step %d: rate %v after resuming, %v uninterrupted", i, lrs[i], wantLR[i])
		}
	}
	close(t, "W row 0", w[0], wantW[0], 0)
	close(t, "W row 1", w[1], wantW[1], 0)
	close(t, "b", b, wantB, 0)
}

func TestValidate(t *testing.T) {
	for name, c := range map[string]Config{
		"zero value":     {},
		"lr 0":           AdamConfig(0),
		"negative wd":    func() Config { c := SGDConfig(0.1); c.WeightDecay = -1; return c }(),
		"momentum 1":     func() Config { c := SGDConfig(0.1); c.Momentum = 1; return c }(),
		"lars without η": func() Config { c := LARSConfig(0.1, 0); c.Eta = 0; return c }(),
		"nesterov adam":  func() Config { c := AdamConfig(0.1); c.Nesterov = true; return c }(),
		"milestone 2":    func() Config { c := MedMNIST(); c.Schedule.Milestones = []float64{2}; return c }(),
		"unknown decay":  func() Config { c := MedMNIST(); c.Schedule.Decay = "linear"; return c }(),
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(MedMNIST(), Plan{}); err == nil {
		t.Error("empty plan accepted")
	}
	if got := AdamConfig(1e-3).Scaled(512).LearningRate; got != 2e-3 {
		t.Errorf("Scaled(512): %v, want 2e-3", got)
	}
}
