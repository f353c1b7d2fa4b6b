package optim

import (
	"fmt"
	"path"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"
)

// StateScope is the scope under which the optimizers keep their state (moments, momentum
// buffers): a variable "/encoder/conv/weights" has its state under
// "/optim/encoder/conv/weights_*".
const StateScope = "optim"

// larsEpsilon is the ε of the LARS trust ratio, as solo-learn's.
const larsEpsilon = 1e-8

// New returns the GoMLX optimizer that trains with c over the run p describes.
func New(c Config, p Plan) (optimizer.Interface, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if p.StepsPerEpoch <= 0 || p.TotalSteps <= 0 {
		return nil, fmt.Errorf("optim: a run of %d steps of %d per epoch, want > 0", p.TotalSteps, p.StepsPerEpoch)
	}
	for prefix, m := range p.Multipliers {
		if !(m >= 0) {
			return nil, fmt.Errorf("optim: learning-rate multiplier %v for %q, want >= 0", m, prefix)
		}
	}
	return &updater{cfg: c, plan: p}, nil
}

// updater implements optimizer.Interface for a Config.
type updater struct {
	cfg  Config
	plan Plan
}

// UpdateGraph implements optimizer.Interface: it computes this step's learning rate and
// weight decay from the global step (before it is incremented), then updates every
// trainable variable the loss depends on.
func (u *updater) UpdateGraph(scope *model.Scope, g *graph.Graph, loss *graph.Node) {
	if !loss.Shape().IsScalar() {
		exceptions.Panicf("optim: the loss must be a scalar, got %s", loss.Shape())
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	dtype := loss.DType()
	step := optimizer.GetGlobalStepVar(scope).NodeValue(g)
	lr := u.cfg.Schedule.rateNode(u.cfg.LearningRate, step, u.plan, dtype)
	wd := u.cfg.weightDecayNode(step, u.plan, dtype)
	optimizer.LearningRateVar(scope, dtype, u.cfg.LearningRate).SetNodeValue(lr) // shown by GoMLX's progress bar
	count := graph.ConvertDType(optimizer.IncrementGlobalStep(g, dtypes.Int64), dtype)
	i := 0
	for v := range scope.IterVariables() {
		if !v.Trainable || !v.InUseByGraph(g) {
			continue
		}
		if i >= len(grads) {
			exceptions.Panicf("optim: more trainable variables than gradients (%d): were variables created during the update?", len(grads))
		}
		grad := grads[i]
		i++
		m := u.multiplier(v)
		if m == 0 {
			continue
		}
		vlr := lr
		if m != 1 {
			vlr = graph.MulScalar(lr, m)
		}
		u.apply(scope, v, grad, vlr, wd, count)
	}
	if i != len(grads) {
		exceptions.Panicf("optim: %d gradients for %d trainable variables", len(grads), i)
	}
}

// multiplier returns the learning-rate multiplier of v: the longest matching prefix's.
func (u *updater) multiplier(v *model.Variable) float64 {
	m, best := 1.0, -1
	for prefix, f := range u.plan.Multipliers {
		if (v.Scope() == prefix || strings.HasPrefix(v.Scope(), strings.TrimSuffix(prefix, "/")+"/")) && len(prefix) > best {
			m, best = f, len(prefix)
		}
	}
	return m
}

// excluded tells whether v is left out of weight decay and LARS adaptation.
func (u *updater) excluded(v *model.Variable) bool {
	return u.cfg.ExcludeBiasAndNorm && v.Shape().Rank() <= 1
}

// state returns (creating it at zero) the optimizer state variable name of v.
func state(scope *model.Scope, v *model.Variable, name string, dtype dtypes.DType) *model.Variable {
	shape := v.Shape().Clone()
	shape.DType = dtype
	return scope.Store().Scope(path.Join("/", StateScope, v.Scope())).WithInitializer(initializer.Zero).
		VariableWithShape(v.Name()+"_"+name, shape).SetTrainable(false)
}

// apply updates one variable with its gradient, learning rate lr and weight decay wd
// (scalars of the computation dtype); count is the number of updates including this one.
func (u *updater) apply(scope *model.Scope, v *model.Variable, grad, lr, wd, count *graph.Node) {
	g := grad.Graph()
	dtype := lr.DType()
	w := v.NodeValue(g)
	if w.DType() != dtype {
		w = graph.ConvertDType(w, dtype)
	}
	if grad.DType() != dtype {
		grad = graph.ConvertDType(grad, dtype)
	}
	c := u.cfg
	excluded := u.excluded(v)
	var updated *graph.Node
	switch c.Rule {
	case Adam:
		m1, m2 := state(scope, v, "m1", dtype), state(scope, v, "m2", dtype)
		b1, b2 := graph.Scalar(g, dtype, c.Beta1), graph.Scalar(g, dtype, c.Beta2)
		mom1 := graph.Add(graph.Mul(b1, m1.NodeValue(g)), graph.Mul(graph.OneMinus(b1), grad))
		mom2 := graph.Add(graph.Mul(b2, m2.NodeValue(g)), graph.Mul(graph.OneMinus(b2), graph.Square(grad)))
		m1.SetNodeValue(mom1)
		m2.SetNodeValue(mom2)
		hat1 := graph.Div(mom1, graph.OneMinus(graph.Pow(b1, count)))
		hat2 := graph.Div(mom2, graph.OneMinus(graph.Pow(b2, count)))
		step := graph.Div(hat1, graph.AddScalar(graph.Sqrt(hat2), c.Epsilon))
		if !excluded {
			step = graph.Add(step, graph.Mul(wd, w))
		}
		updated = graph.Sub(w, graph.Mul(lr, step))
	case SGD, LARS:
		d := grad
		if c.Rule == SGD && !excluded {
			d = graph.Add(grad, graph.Mul(wd, w))
		}
		if c.Rule == LARS && !excluded {
			wNorm := graph.Sqrt(graph.ReduceAllSum(graph.Square(w)))
			gNorm := graph.Sqrt(graph.ReduceAllSum(graph.Square(grad)))
			trust := graph.Div(graph.MulScalar(wNorm, c.Eta), graph.AddScalar(graph.Add(gNorm, graph.Mul(wd, wNorm)), larsEpsilon))
			if c.ClipLR {
				trust = graph.Min(graph.Div(trust, lr), graph.OnesLike(trust))
			}
			zero := graph.ScalarZero(g, dtype)
			adapt := graph.LogicalAnd(graph.GreaterThan(wNorm, zero), graph.GreaterThan(gNorm, zero))
			d = graph.Where(adapt, graph.Mul(graph.Add(grad, graph.Mul(wd, w)), trust), grad)
		}
		buf := state(scope, v, "momentum", dtype)
		b := graph.Add(graph.MulScalar(buf.NodeValue(g), c.Momentum), d)
		buf.SetNodeValue(b)
		step := b
		if c.Nesterov {
			step = graph.Add(d, graph.MulScalar(b, c.Momentum))
		}
		updated = graph.Sub(w, graph.Mul(lr, step))
	}
	if updated.DType() != v.Shape().DType {
		updated = graph.ConvertDType(updated, v.Shape().DType)
	}
	v.SetNodeValue(updated)
}

// Clear implements optimizer.Interface: it deletes the optimizer's state variables.
func (u *updater) Clear(scope *model.Scope) error {
	return scope.Store().DeleteVariablesInScope("/" + StateScope)
}
