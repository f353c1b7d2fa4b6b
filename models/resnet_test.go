package models

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
)

// encodeOnce builds enc on a fresh store and runs it once on x, in training or inference mode.
func encodeOnce(t *testing.T, enc Encoder, training bool, dims ...int) (out []float32, shape []int, store *model.Store) {
	t.Helper()
	store = model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(7))
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		scope.SetTraining(x.Graph(), training)
		return enc.Encode(scope.In(EncoderScope), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(randomTensor(5, dims...))
	if err != nil {
		t.Fatal(err)
	}
	return tensorsFlat(res[0]), res[0].Shape().Dimensions, store
}

func TestResNetOutputShapes(t *testing.T) {
	for _, depth := range []int{18, 34, 50} {
		for _, size := range []int{28, 64, 224} {
			batch, channels := 2, 1
			if size == 224 {
				batch, channels = 1, 3 // one RGB image: the standard stem on a full-size input
			}
			t.Run(fmt.Sprintf("resnet%d_%dpx", depth, size), func(t *testing.T) {
				enc := ResNetFor(depth, size)
				if err := enc.Validate(); err != nil {
					t.Fatal(err)
				}
				wantStem := SmallImageStem
				if size > 64 {
					wantStem = StandardStem
				}
				if enc.Stem != wantStem {
					t.Errorf("ResNetFor(%d, %d).Stem = %v, want %v", depth, size, enc.Stem, wantStem)
				}
				want := 512
				if depth == 50 {
					want = 2048
				}
				if wantName := fmt.Sprintf("resnet%d-%s", depth, wantStem); enc.FeatureDim() != want || enc.Name() != wantName {
					t.Errorf("FeatureDim()=%d Name()=%q, want %d and %s", enc.FeatureDim(), enc.Name(), want, wantName)
				}
				out, shape, _ := encodeOnce(t, enc, false, batch, size, size, channels)
				if len(shape) != 2 || shape[0] != batch || shape[1] != want {
					t.Fatalf("features shape %v, want [%d %d]", shape, batch, want)
				}
				for _, v := range out {
					if v != v || v < 0 { // NaN, or negative after the final ReLU and average
						t.Fatalf("feature %v is not a finite non-negative value", v)
					}
				}
			})
		}
	}
}

// TestResNetParameterCount checks the encoders against torchvision's parameter counts
// (ImageNet stem, no fc layer, 3 input channels): 11,176,512 for ResNet-18, 21,284,672 for
// ResNet-34 and 23,508,032 for ResNet-50 (trainable weights: convolutions and BN scale/offset).
func TestResNetParameterCount(t *testing.T) {
	for depth, want := range map[int]int{18: 11176512, 34: 21284672, 50: 23508032} {
		store := model.NewStore()
		g := graph.NewGraph(medssl.MustBackend(), "count")
		x := graph.Parameter(g, "x", randomTensor(1, 1, 64, 64, 3).Shape())
		ResNet(store.RootScope(), x).Depth(depth).StandardStem().Done()
		got := 0
		for v := range store.IterVariables() {
			if v.Trainable {
				got += v.Shape().Size()
			}
		}
		if got != want {
			t.Errorf("resnet%d: %d trainable parameters, torchvision has %d", depth, got, want)
		}
		g.Finalize()
	}
}

func TestResNetSharesWeightsAcrossCalls(t *testing.T) {
	store := model.NewStore()
	g := graph.NewGraph(medssl.MustBackend(), "shared")
	x := graph.Parameter(g, "x", randomTensor(1, 2, 28, 28, 1).Shape())
	enc := ResNet18()
	scope := store.RootScope().In(EncoderScope)
	enc.Encode(scope, x)
	n := store.NumVariables()
	enc.Encode(scope, x) // second view: must reuse, not panic nor create variables
	if store.NumVariables() != n {
		t.Fatalf("second Encode created variables: %d -> %d", n, store.NumVariables())
	}
	g.Finalize()
}

func TestResNetValidate(t *testing.T) {
	if err := ResNetFor(19, 28).Validate(); err == nil {
		t.Error("depth 19: Validate returned no error")
	}
	if err := (ResNetConfig{Depth: 18, Stem: Stem(9)}).Validate(); err == nil {
		t.Error("stem 9: Validate returned no error")
	}
	if c := ResNet18().Width(16); c.FeatureDim() != 128 || c.Name() != "resnet18-w16" {
		t.Errorf("ResNet18().Width(16): FeatureDim %d, Name %q; want 128, resnet18-w16", c.FeatureDim(), c.Name())
	}
	// Every configuration's name reads back as the same configuration, stem included.
	for _, c := range []ResNetConfig{ResNet18(), ResNet34().Width(16), ResNetFor(50, 28).Width(8), ResNetFor(18, 224), ResNetFor(34, 28)} {
		enc, err := ParseEncoder(c.Name())
		if err != nil {
			t.Errorf("ParseEncoder(%q): %v", c.Name(), err)
			continue
		}
		if got, ok := enc.(ResNetConfig); !ok || got.Depth != c.Depth || got.baseWidth() != c.baseWidth() || got.Stem != c.Stem {
			t.Errorf("ParseEncoder(%q) = %+v, want %+v", c.Name(), enc, c)
		}
	}
	if _, err := ParseEncoder("resnet18-w16-tiny"); err == nil {
		t.Error("unknown stem suffix accepted")
	}
	if c := ResNet50().Width(16); c.FeatureDim() != 512 {
		t.Errorf("ResNet50().Width(16).FeatureDim() = %d, want 512", c.FeatureDim())
	}
	if got := ResNetFor(50, 64).Stem; got != SmallImageStem {
		t.Errorf("ResNetFor(50, 64).Stem = %v, want small", got)
	}
	if got := ResNetFor(50, 65).Stem; got != StandardStem {
		t.Errorf("ResNetFor(50, 65).Stem = %v, want standard", got)
	}
}

// Stages returns the stem's and the four stages' maps at the expected resolutions and
// widths, and pooling the last one is Encode (same variables, same features).
func TestResNetStages(t *testing.T) {
	backend := medssl.MustBackend()
	for _, tc := range []struct {
		enc   ResNetConfig
		size  int
		sides []int
	}{
		{ResNetFor(18, 28).Width(8), 28, []int{28, 28, 14, 7, 4}},
		{ResNetFor(50, 96).Width(8), 96, []int{24, 24, 12, 6, 3}},
	} {
		store := model.NewStore()
		images := randomTensor(3, 2, tc.size, tc.size, 1)
		stagesExec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
			stages := tc.enc.Stages(scope.In(EncoderScope), x)
			return append(stages, graph.ReduceMean(stages[len(stages)-1], 1, 2))
		})
		if err != nil {
			t.Fatal(err)
		}
		out, err := stagesExec.Exec(images)
		if err != nil {
			t.Fatal(err)
		}
		// A second graph on the same store: Encode must find Stages' variables.
		encodeExec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			return tc.enc.Encode(scope.In(EncoderScope), x)
		})
		if err != nil {
			t.Fatal(err)
		}
		encodedOut, err := encodeExec.Exec(images)
		if err != nil {
			t.Fatal(err)
		}
		widths := []int{8, 8, 16, 32, 64}
		if tc.enc.Depth == 50 {
			widths = []int{8, 32, 64, 128, 256}
		}
		for i, side := range tc.sides {
			if d := out[i].Shape().Dimensions; d[1] != side || d[2] != side || d[3] != widths[i] {
				t.Errorf("%s stage %d: %v, want %dx%d with %d channels", tc.enc.Name(), i, d, side, side, widths[i])
			}
		}
		assertClose(t, "pooled last stage vs Encode", tensors.MustCopyFlatData[float32](out[5]), tensors.MustCopyFlatData[float32](encodedOut[0]), 1e-6)
	}
}
