package trainutil

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/medssl/medssl"
)

// With loss = a + b (both gradients 1) and plain SGD, each step moves a variable by exactly
// the learning rate times its multiplier, so the schedule can be checked by hand.
func TestOptimizerScheduleAndMultipliers(t *testing.T) {
	backend := medssl.MustBackend()
	store := model.NewStore()
	modelFn := func(scope *model.Scope, x *graph.Node) *graph.Node {
		g := x.Graph()
		a := scope.In("frozenish").VariableWithValue("a", float32(0)).NodeValue(g)
		b := scope.In("free").VariableWithValue("b", float32(0)).NodeValue(g)
		loss := graph.Add(graph.Add(a, b), graph.ReduceAllSum(graph.MulScalar(x, 0)))
		train.AddMainLoss(loss)
		return loss
	}
	opt := &Optimizer{
		Base:             optimizer.StochasticGradientDescent().WithDecay(false).WithLearningRate(1).Done(),
		LearningRate:     1,
		Milestones:       []int{2, 4},
		Gamma:            0.1,
		ScopeMultipliers: map[string]float64{"/frozenish": 0.5},
	}
	trainer := train.NewTrainer(backend, store, modelFn, nil, opt, nil, nil)
	x := []float32{1}
	// Learning rates of steps 0..5: 1, 1, 0.1, 0.1, 0.01, 0.01.
	wantB := []float64{-1, -2, -2.1, -2.2, -2.21, -2.22}
	for step, want := range wantB {
		if _, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{tensors.FromValue(x)}}); err != nil {
			t.Fatal(err)
		}
		b := float64(store.GetVariable("/free/b").MustValue().Value().(float32))
		a := float64(store.GetVariable("/frozenish/a").MustValue().Value().(float32))
		if math.Abs(b-want) > 1e-5 {
			t.Errorf("step %d: b = %v, want %v", step, b, want)
		}
		if math.Abs(a-want/2) > 1e-5 {
			t.Errorf("step %d: a = %v, want half of b's path %v", step, a, want/2)
		}
	}
}
