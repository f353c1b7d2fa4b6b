package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/medssl/medssl/augment"
)

// ParamTotalSteps is the store parameter in which Pretrain records the run's total number
// of steps, so that methods with schedules (BYOL's momentum, DINO's teacher temperature)
// can follow the run's progress.
const ParamTotalSteps = "medssl_total_steps"

// ViewAugmenter is implemented by methods whose views are not all made by the same
// transform, e.g. DINO's multi-crop (two global and several smaller local crops). Pretrain
// asks it for the transform of view i, given the configured one.
type ViewAugmenter interface {
	ViewAugment(base augment.Transform, i int) augment.Transform
}

// TrainingProgress returns the fraction of the run done before the current step, a float32
// scalar in [0, 1]: globalStep / totalSteps as recorded by Pretrain. Outside Pretrain (no
// total recorded) it is 0, so schedules start at their initial values.
func TrainingProgress(scope *model.Scope, g *graph.Graph) *graph.Node {
	total := 0
	if v, found := scope.Store().GetParam("/" + ParamTotalSteps); found {
		switch t := v.(type) {
		case int:
			total = t
		case int64:
			total = int(t)
		case float64:
			total = int(t)
		}
	}
	if total <= 0 {
		return graph.Scalar(g, dtypes.Float32, 0)
	}
	step := graph.ConvertDType(optimizer.GetGlobalStepVar(scope).NodeValue(g), dtypes.Float32)
	return graph.ClipScalar(graph.DivScalar(step, float64(total)), 0, 1)
}
