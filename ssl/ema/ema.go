// Package ema builds momentum (exponential moving average) target networks, the "teacher"
// or "key encoder" of MoCo, BYOL and DINO, for built-in and user-written pretext methods.
//
// A target network is a copy of some online sub-networks (encoder, projection head) that is
// not trained by gradient descent: after every optimizer step it follows the online weights
// by an exponential moving average,
//
//	ξ ← m·ξ + (1−m)·θ
//
// with θ the online weights just updated by the optimizer and m the momentum. Details:
//   - Target variables mirror the online ones path by path (online "/encoder/x" is
//     "<target>/encoder/x"), are marked non-trainable, and the target's outputs are wrapped
//     in StopGradient, so no gradient reaches them.
//   - Initialisation: the target equals the online network at the first step. A
//     non-trainable flag "<target>/ema_ready" is 0 until the first update; while it is 0, the
//     target network is evaluated with the online values (ξ = θ₀), and the first update is
//     then ξ₁ = m·θ₀ + (1−m)·θ₁, exactly BYOL's rule with ξ initialised to θ.
//   - Only trainable online variables are averaged. Non-trainable ones (batch-norm running
//     means and variances) are copied at initialisation and afterwards are the target's own:
//     its batch norms run in training mode on its input batch and keep their own running
//     statistics, as in the PyTorch reference code of MoCo, BYOL and DINO, which average
//     parameters and leave buffers alone.
//   - The update runs after the optimizer step through train.AddPerStepUpdateGraphFn, so it
//     reads θ after this step's update.
//
// Use, inside a method's Loss (see ssl/byol.go):
//
//	target := ema.NewTarget(methodScope.In("target"))
//	tEnc := target.Mirror(g, ema.OnlineScope(scope, models.EncoderScope), models.EncoderScope)
//	z := graph.StopGradient(enc.Encode(tEnc, view))
//	target.UpdateAfterStep(g, ema.CosineMomentum(ssl.TrainingProgress(scope, g), 0.996, 1))
package ema

import (
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ReadyName is the flag variable, under the target scope, that says the target has been
// initialised from the online network.
const ReadyName = "ema_ready"

// Target is one method's target network under construction.
type Target struct {
	root  *model.Scope
	ready *model.Variable
	pairs []pair
}

// pair is an online variable and its target copy.
type pair struct{ online, target *model.Variable }

// NewTarget starts a target network whose variables live under root (a scope under the
// method's scope, e.g. "ssl/byol/target").
func NewTarget(root *model.Scope) *Target {
	ready := root.Store().VariableWithValue(model.JoinPath(root.Scope(), ReadyName), int32(0)).SetTrainable(false)
	return &Target{root: root, ready: ready}
}

// OnlineScope returns a scope at the absolute path of a sub-scope of scope without
// visiting it (visiting it twice from the same parent panics).
func OnlineScope(scope *model.Scope, name string) *model.Scope {
	return scope.Store().Scope(model.JoinPath(scope.Scope(), name))
}

// Mirror creates (or reuses) a copy of every variable under the online scope at the same
// relative path under root/name, and returns the scope root/name on which the caller must
// build the target copy of the network. Call it after the online network is built (so its
// variables exist) and before building the target network.
func (t *Target) Mirror(g *graph.Graph, online *model.Scope, name string) *model.Scope {
	targetPath := model.JoinPath(t.root.Scope(), name)
	ready := graph.GreaterThan(t.ready.NodeValue(g), graph.ScalarZero(g, dtypes.Int32))
	store := t.root.Store()
	for v := range online.IterVariables() {
		rel := strings.TrimPrefix(v.Path(), online.Scope())
		tv := store.VariableWithShape(targetPath+rel, v.Shape(), initializer.Zero).SetTrainable(false)
		t.pairs = append(t.pairs, pair{online: v, target: tv})
		if !v.DType().IsFloat() {
			continue
		}
		// Before the first update the target is evaluated with the online values.
		tv.SetNodeValue(graph.Where(ready, tv.NodeValue(g), graph.StopGradient(v.NodeValue(g))))
	}
	if len(t.pairs) == 0 {
		exceptions.Panicf("ema: momentum target %s: the online network %s has no variables (build it first)", targetPath, online.Scope())
	}
	return store.Scope(targetPath)
}

// UpdateAfterStep marks every variable under the target root non-trainable (layers such as
// batch norm mark their own variables trainable when built, so call it after building the
// target network) and registers the EMA update with momentum m (a scalar node of this
// graph) to run after the optimizer step.
func (t *Target) UpdateAfterStep(g *graph.Graph, m *graph.Node) {
	for v := range t.root.IterVariables() {
		v.SetTrainable(false)
	}
	train.AddPerStepUpdateGraphFn(t.root, g, func(_ *model.Scope, g *graph.Graph) {
		for _, p := range t.pairs {
			if !p.online.Trainable || !p.online.DType().IsFloat() {
				continue
			}
			mm := graph.ConvertDType(m, p.target.DType())
			target, online := p.target.NodeValue(g), p.online.NodeValue(g)
			p.target.SetNodeValue(Step(target, online, mm))
		}
		t.ready.SetNodeValue(graph.OnesLike(t.ready.NodeValue(g)))
	})
}

// Step returns m·x + (1−m)·y, the update of a moving average x towards y.
func Step(x, y, m *graph.Node) *graph.Node {
	return graph.Add(graph.Mul(m, x), graph.Mul(graph.OneMinus(m), y))
}

// CosineMomentum is the cosine momentum schedule of BYOL (Grill et al. 2020, §3.2), also
// used by DINO and MoCo v3: m = final − (final − base)·(cos(π·p) + 1)/2, with p the fraction
// of the run done before this step (a float32 scalar in [0, 1], such as
// ssl.TrainingProgress). It starts at base and reaches final at the end; base == final
// gives a constant momentum.
func CosineMomentum(progress *graph.Node, base, final float64) *graph.Node {
	g := progress.Graph()
	if base == final {
		return graph.Scalar(g, dtypes.Float32, base)
	}
	c := graph.DivScalar(graph.AddScalar(graph.Cos(graph.MulScalar(progress, math.Pi)), 1), 2)
	return graph.Sub(graph.Scalar(g, dtypes.Float32, final), graph.MulScalar(c, final-base))
}
