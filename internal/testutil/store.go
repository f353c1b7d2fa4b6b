package testutil

import (
	"strings"
	"testing"

	"github.com/medssl/medssl/data"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// VariableValues returns the float32 values of the store's variables whose scope starts
// with prefix, keyed by path, for comparing a store before and after training.
func VariableValues(t testing.TB, store *model.Store, prefix string) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range store.IterVariables() {
		if !strings.HasPrefix(v.Scope(), prefix) {
			continue
		}
		if flat, err := tensors.CopyFlatData[float32](v.MustValue()); err == nil {
			out[v.Path()] = flat
		}
	}
	return out
}

// BreastMNIST returns the embedded BreastMNIST dataset, failing the test if it cannot be
// read.
func BreastMNIST(t testing.TB) *data.Dataset {
	t.Helper()
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
