package trainutil

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
)

// Recover turns a panic raised while GoMLX builds or runs a graph into an error with the
// given prefix. Use as: defer trainutil.Recover("ssl: pretrain", &err).
func Recover(prefix string, err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(error); ok {
			*err = fmt.Errorf("%s: %w", prefix, e)
			return
		}
		*err = fmt.Errorf("%s: %v", prefix, r)
	}
}

// Scalar reads a float scalar metric (such as a training step's loss) as float64.
func Scalar(t *tensors.Tensor) (float64, error) {
	switch v := t.Value().(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("expected a float scalar metric, got %s", t.Shape())
}
