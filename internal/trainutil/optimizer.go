// Package trainutil holds the training plumbing shared by ssl and supervised: a learning-rate
// schedule and per-group learning rates layered on GoMLX's optimizers, and turning GoMLX's
// graph-building panics into errors.
package trainutil

import (
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"
)

// Optimizer wraps a GoMLX optimizer with a step-wise learning-rate schedule and
// per-scope learning-rate multipliers. It implements optimizer.Interface.
//
// Schedule: lr(step) = LearningRate · Gamma^k, k = number of Milestones <= step (0-based
// step count before this update), as PyTorch's MultiStepLR.
//
// Multipliers: a variable whose path starts with a key of ScopeMultipliers moves by that
// fraction of the step the base optimizer would take: v ← v_old + m·(v_new − v_old). For
// Adam this is exactly a per-group learning rate (gradient scaling would not be: Adam is
// invariant to it). A multiplier of 0 freezes the group.
type Optimizer struct {
	Base             optimizer.Interface
	LearningRate     float64
	Milestones       []int
	Gamma            float64
	ScopeMultipliers map[string]float64
}

// UpdateGraph implements optimizer.Interface.
func (o *Optimizer) UpdateGraph(scope *model.Scope, g *graph.Graph, loss *graph.Node) {
	dtype := loss.DType()
	// Learning rate for this step, computed in the graph from the global step so that a
	// resumed run continues the same schedule.
	step := optimizer.GetGlobalStepVar(scope).NodeValue(g)
	lr := graph.Scalar(g, dtype, o.LearningRate)
	gamma := o.Gamma
	if gamma == 0 {
		gamma = 0.1
	}
	for _, m := range o.Milestones {
		reached := graph.GreaterOrEqual(step, graph.Scalar(g, dtypes.Int64, m))
		lr = graph.Where(reached, graph.MulScalar(lr, gamma), lr)
	}
	optimizer.LearningRateVar(scope, dtype, o.LearningRate).SetNodeValue(lr)

	type old struct {
		v    *model.Variable
		node *graph.Node
		mult float64
	}
	var olds []old
	if len(o.ScopeMultipliers) > 0 {
		for v := range scope.IterVariables() {
			if !v.Trainable {
				continue
			}
			for prefix, m := range o.ScopeMultipliers {
				if strings.HasPrefix(v.Scope(), prefix) && m != 1 {
					olds = append(olds, old{v, v.NodeValue(g), m})
					break
				}
			}
		}
	}
	o.Base.UpdateGraph(scope, g, loss)
	for _, o := range olds {
		if !o.v.ChangedInGraph(g) {
			continue
		}
		updated := o.v.NodeValue(g)
		o.v.SetNodeValue(graph.Add(o.node, graph.MulScalar(graph.Sub(updated, o.node), o.mult)))
	}
}

// Clear implements optimizer.Interface: it clears the base optimizer's state.
func (o *Optimizer) Clear(scope *model.Scope) error { return o.Base.Clear(scope) }
