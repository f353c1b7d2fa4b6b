package models

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
)

// resnetStep runs enc once in training mode on x [33, size, size, 1] and returns, by name,
// the features, the gradient of Σ features·r with respect to every trainable variable, and
// every variable after the step (the batch norms' running statistics updated).
func resnetStep(t *testing.T, enc ResNetConfig, size int) map[string][]float32 {
	t.Helper()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(7))
	var names []string
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x, r *graph.Node) []*graph.Node {
		scope.SetTraining(x.Graph(), true)
		// In float64, so that the comparison is not blurred by float32 rounding, which the
		// batch norms of a narrow network on few pixels amplify.
		x, r = graph.ConvertDType(x, dtypes.Float64), graph.ConvertDType(r, dtypes.Float64)
		features := enc.Encode(scope.In(EncoderScope), x)
		var vars []*graph.Node
		names = nil
		for v := range store.IterVariables() {
			if v.Trainable {
				vars = append(vars, v.NodeValue(x.Graph()))
				names = append(names, "gradient "+v.Scope()+"/"+v.Name())
			}
		}
		outs := append([]*graph.Node{features}, graph.Gradient(graph.ReduceAllSum(graph.Mul(features, r)), vars...)...)
		for i := range outs {
			outs[i] = graph.ConvertDType(outs[i], dtypes.Float32)
		}
		return outs
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(randomTensor(5, 33, size, size, 1), randomTensor(6, 33, enc.FeatureDim()))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float32{"features": tensorsFlat(outs[0])}
	for i, name := range names {
		got[name] = tensorsFlat(outs[i+1])
	}
	for v := range store.IterVariables() {
		if v.Shape().DType == dtypes.Float64 { // not the random number generator's state
			for _, x := range tensors.MustCopyFlatData[float64](v.MustValue()) {
				got["after the step "+v.Scope()+"/"+v.Name()] = append(got["after the step "+v.Scope()+"/"+v.Name()], float32(x))
			}
		}
	}
	return got
}

// TestResNetPartsMatchWhole checks that the network computed in parts of the batch
// (batchParts: 33 images in parts of 16 and 17) gives the features, the gradients and the
// running statistics of the network computed on the whole batch, for both block kinds and
// both stems.
func TestResNetPartsMatchWhole(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4)) // with one part per CPU, two parts of a batch of 33, whatever the machine
	for _, c := range []struct {
		enc  ResNetConfig
		size int
	}{
		{ResNet18().Width(8), 12},
		{ResNet50().Width(4), 12},
		{ResNetConfig{Depth: 18, Stem: StandardStem}.Width(8), 20},
	} {
		t.Run(fmt.Sprintf("%s_%dpx", c.enc.Name(), c.size), func(t *testing.T) {
			defer func(was int) { partsPerCPUOverride = was }(partsPerCPUOverride)
			partsPerCPUOverride = 0
			whole := resnetStep(t, c.enc, c.size)
			partsPerCPUOverride = 1
			g := graph.NewGraph(medssl.MustBackend(), "parts")
			if n := len(batchParts(graph.Parameter(g, "x", randomTensor(1, 33, 2, 2, 1).Shape()), 1)); n != 2 {
				t.Fatalf("a batch of 33 is cut into %d parts, want 2", n)
			}
			parts := resnetStep(t, c.enc, c.size)
			var names []string
			for name := range whole {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				w, p := whole[name], parts[name]
				if len(w) != len(p) {
					t.Fatalf("%s: %d values in parts, %d whole", name, len(p), len(w))
				}
				scale := 0.0
				for _, v := range w {
					scale = max(scale, math.Abs(float64(v)))
				}
				for i := range w {
					if d := math.Abs(float64(w[i] - p[i])); d > 1e-5*(scale+1e-3) {
						t.Fatalf("%s[%d]: %g in parts, %g whole (scale %g)", name, i, p[i], w[i], scale)
					}
				}
			}
		})
	}
}
