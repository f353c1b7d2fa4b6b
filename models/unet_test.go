package models

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
)

func TestUpsampleNearestMatchesNaive(t *testing.T) {
	x := randomTensor(4, 2, 3, 5, 2)
	out, err := model.CallOnce(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, x *graph.Node) *graph.Node {
		return UpsampleNearest(x, 3)
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	in := tensors.MustCopyFlatData[float32](x)
	got := tensors.MustCopyFlatData[float32](out)
	for b := range 2 {
		for i := range 9 {
			for j := range 15 {
				for c := range 2 {
					want := in[((b*3+i/3)*5+j/3)*2+c]
					if v := got[((b*9+i)*15+j)*2+c]; v != want {
						t.Fatalf("out[%d,%d,%d,%d] = %v, want input pixel (%d, %d) = %v", b, i, j, c, v, i/3, j/3, want)
					}
				}
			}
		}
	}
}

// segmentGrads builds Segment on random images in training mode with loss Σ out·r and
// returns the output shape and, per trainable variable, its path and gradient norm.
func segmentGrads(t *testing.T, enc Encoder, b, h, w, classes int) ([]int, map[string]float64) {
	t.Helper()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	var paths []string
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x, r *graph.Node) []*graph.Node {
		scope.SetTraining(x.Graph(), true)
		out := Segment(scope, enc, x, classes)
		loss := graph.ReduceAllSum(graph.Mul(out, r))
		var nodes []*graph.Node
		paths = paths[:0]
		for v := range scope.Store().IterVariables() {
			if v.Trainable && v.InUseByGraph(x.Graph()) {
				paths = append(paths, v.Path())
				nodes = append(nodes, v.NodeValue(x.Graph()))
			}
		}
		grads := graph.Gradient(loss, nodes...)
		res := []*graph.Node{out}
		for _, g := range grads {
			res = append(res, graph.ReduceAllSum(graph.Square(g)))
		}
		return res
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(randomTensor(2, b, h, w, 1), randomTensor(3, b, h, w, classes))
	if err != nil {
		t.Fatal(err)
	}
	norms := map[string]float64{}
	for i, p := range paths {
		norms[p] = math.Sqrt(float64(tensors.ToScalar[float32](outs[i+1])))
	}
	return outs[0].Shape().Dimensions, norms
}

// TestSegmentShapesAndGradients: for a small-stem and a standard-stem ResNet and a ViT,
// the segmentation output is [B, H, W, classes] on non-square images, every trainable
// variable of the encoder (under EncoderScope) and of the decoder (under DecoderScope)
// gets a non-zero gradient, and the encoder's variables are exactly those Encode creates,
// so that a pretrained encoder checkpoint loads into the segmenter by name.
func TestSegmentShapesAndGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		enc  Encoder
		h, w int
	}{
		{"resnet small stem", ResNetConfig{Depth: 18, Stem: SmallImageStem, BaseWidth: 8}, 24, 16},
		{"resnet standard stem", ResNetConfig{Depth: 18, Stem: StandardStem, BaseWidth: 8}, 64, 32},
		{"vit", ViTConfig{PatchSize: 4, Width: 32, Depth: 1, Heads: 2, MLPRatio: 2}, 16, 24},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dims, norms := segmentGrads(t, tc.enc, 2, tc.h, tc.w, 3)
			if len(dims) != 4 || dims[0] != 2 || dims[1] != tc.h || dims[2] != tc.w || dims[3] != 3 {
				t.Fatalf("output shape %v, want [2 %d %d 3]", dims, tc.h, tc.w)
			}
			enc, dec := 0, 0
			for p, n := range norms {
				switch {
				case strings.HasPrefix(p, "/"+EncoderScope+"/"):
					enc++
				case strings.HasPrefix(p, "/"+DecoderScope+"/"):
					dec++
				default:
					t.Errorf("variable %s outside the encoder and decoder scopes", p)
				}
				if !(n > 0) || math.IsInf(n, 0) {
					t.Errorf("variable %s: gradient norm %v, want finite and > 0", p, n)
				}
			}
			// The encoder part holds exactly Encode's trainable variables.
			store := model.NewStore()
			if _, err := model.CallOnce(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
				scope.SetTraining(x.Graph(), true)
				return tc.enc.Encode(scope.In(EncoderScope), x)
			}, randomTensor(2, 2, tc.h, tc.w, 1)); err != nil {
				t.Fatal(err)
			}
			want := 0
			for v := range store.IterVariables() {
				if v.Trainable && strings.HasPrefix(v.Path(), "/"+EncoderScope+"/") {
					want++
					if _, ok := norms[v.Path()]; !ok {
						t.Errorf("Encode's variable %s is not in the segmenter", v.Path())
					}
				}
			}
			t.Logf("%s: %d encoder and %d decoder variables get gradients; Encode has %d", tc.name, enc, dec, want)
			if enc != want || dec == 0 {
				t.Errorf("%d encoder variables (Encode: %d) and %d decoder variables", enc, want, dec)
			}
		})
	}
}

func TestSegmentRejectsBadSizes(t *testing.T) {
	_, err := model.CallOnce(medssl.MustBackend(), model.NewStore(), func(scope *model.Scope, x *graph.Node) *graph.Node {
		return Segment(scope, ResNetConfig{Depth: 18, Stem: SmallImageStem, BaseWidth: 8}, x, 2)
	}, randomTensor(1, 1, 20, 16, 1))
	if err == nil || !strings.Contains(err.Error(), "multiples of the encoder's coarsest stride") {
		t.Errorf("20x16 image (not a multiple of 8): err = %v", err)
	}
}
