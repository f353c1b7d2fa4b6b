package trainutil

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// UnderScope tells whether v lives in scope prefix ("/encoder") or below it.
func UnderScope(v *model.Variable, prefix string) bool {
	return v.Scope() == prefix || strings.HasPrefix(v.Scope(), prefix+"/")
}

// InScope is the variable filter of UnderScope(·, prefix).
func InScope(prefix string) func(*model.Variable) bool {
	return func(v *model.Variable) bool { return UnderScope(v, prefix) }
}

// CloneVariables returns copies of the values of the store's variables keep accepts, keyed
// by variable: a snapshot of the best epoch's weights, or what another store receives.
func CloneVariables(store *model.Store, keep func(*model.Variable) bool) (map[*model.Variable]*tensors.Tensor, error) {
	out := map[*model.Variable]*tensors.Tensor{}
	for v := range store.IterVariables() {
		if !keep(v) {
			continue
		}
		val, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v.Path(), err)
		}
		if out[v], err = val.Clone(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CopyVariables clones the variables of one store that keep accepts into another, at the
// same scopes and names, and returns how many it copied.
func CopyVariables(from, to *model.Store, keep func(*model.Variable) bool) (int, error) {
	vals, err := CloneVariables(from, keep)
	if err != nil {
		return 0, err
	}
	for v, t := range vals {
		if _, err := to.Scope(v.Scope()).CreateVariable(v.Name(), t); err != nil {
			return 0, fmt.Errorf("copying %s: %w", v.Path(), err)
		}
	}
	return len(vals), nil
}
