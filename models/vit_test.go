package models

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/medssl/medssl"
)

// smallViT is a ViT small enough for unit tests.
func smallViT(patch int) ViTConfig {
	return ViTConfig{PatchSize: patch, Width: 32, Depth: 2, Heads: 2, MLPRatio: 2}
}

func TestViTOutputShapes(t *testing.T) {
	for _, tc := range []struct {
		enc                ViTConfig
		batch, size, chans int
	}{
		{ViTTiny(4), 2, 28, 1},
		{ViTTiny(4), 1, 64, 3},
		{ViTSmall(8), 1, 64, 1},
		{func() ViTConfig { c := smallViT(16); c.PosEmbedding = PosSinCos; return c }(), 1, 224, 3},
	} {
		t.Run(fmt.Sprintf("%s_%dpx", tc.enc.Name(), tc.size), func(t *testing.T) {
			out, shape, _ := encodeOnce(t, tc.enc, false, tc.batch, tc.size, tc.size, tc.chans)
			if len(shape) != 2 || shape[0] != tc.batch || shape[1] != tc.enc.FeatureDim() {
				t.Fatalf("features shape %v, want [%d %d]", shape, tc.batch, tc.enc.FeatureDim())
			}
			// The class token went through the final LayerNorm (gain 1, offset 0 at start):
			// zero mean and unit variance over its features.
			for b := range tc.batch {
				row := out[b*shape[1] : (b+1)*shape[1]]
				var m, v float64
				for _, x := range row {
					m += float64(x)
				}
				m /= float64(len(row))
				for _, x := range row {
					v += (float64(x) - m) * (float64(x) - m)
				}
				v /= float64(len(row))
				if math.Abs(m) > 1e-4 || math.Abs(v-1) > 1e-2 {
					t.Errorf("image %d: features mean %.5f variance %.5f, want 0 and 1 after the final norm", b, m, v)
				}
			}
		})
	}
}

// TestViTTinyParameterCount compares ViT-Tiny/4 on 28×28×1 images with the PyTorch peer's
// model (../shared/bench/peer_simclr_vit_tiny.py), counted by formula: Conv2d(1, D, 4, 4),
// class token, position embeddings (N+1)·D, 12 nn.TransformerEncoderLayer (in_proj 3D×D+3D,
// out_proj D×D+D, linear1 D×4D+4D, linear2 4D×D+D, two LayerNorms 2D each), final LayerNorm.
func TestViTTinyParameterCount(t *testing.T) {
	const d, n, p, c, depth = 192, 49, 4, 1, 12
	layer := (3*d*d + 3*d) + (d*d + d) + (d*4*d + 4*d) + (4*d*d + d) + 2*2*d
	want := (c*p*p*d + d) + d + (n+1)*d + depth*layer + 2*d
	store := model.NewStore()
	g := graph.NewGraph(medssl.MustBackend(), "count")
	x := graph.Parameter(g, "x", randomTensor(1, 1, 28, 28, 1).Shape())
	ViTTiny(4).Encode(store.RootScope().In(EncoderScope), x)
	got := 0
	for v := range store.IterVariables() {
		if v.Trainable {
			got += v.Shape().Size()
		}
	}
	if got != want {
		t.Errorf("vit-tiny/4: %d trainable parameters, the PyTorch peer has %d", got, want)
	}
	g.Finalize()
}

// Encoding two views on the same scope shares the weights; a second image size (DINO's
// local crops) reuses the learned position embeddings, resized.
func TestViTSharesWeightsAcrossCallsAndSizes(t *testing.T) {
	store := model.NewStore()
	g := graph.NewGraph(medssl.MustBackend(), "shared")
	enc := smallViT(4)
	scope := store.RootScope().In(EncoderScope)
	enc.Encode(scope, graph.Parameter(g, "x", randomTensor(1, 2, 28, 28, 1).Shape()))
	n := store.NumVariables()
	enc.Encode(scope, graph.Parameter(g, "y", randomTensor(1, 2, 28, 28, 1).Shape()))
	small := enc.Encode(scope, graph.Parameter(g, "z", randomTensor(1, 2, 12, 12, 1).Shape()))
	if store.NumVariables() != n {
		t.Fatalf("second and third Encode created variables: %d -> %d", n, store.NumVariables())
	}
	if dims := small.Shape().Dimensions; dims[0] != 2 || dims[1] != 32 {
		t.Errorf("12 px features %v, want [2 32]", dims)
	}
	g.Finalize()
}

func TestViTValidateAndNames(t *testing.T) {
	bad := []ViTConfig{
		{PatchSize: 0, Width: 32, Depth: 1, Heads: 2},
		{PatchSize: 4, Width: 30, Depth: 1, Heads: 4},
		{PatchSize: 4, Width: 32, Depth: 0, Heads: 2},
		{PatchSize: 4, Width: 34, Depth: 1, Heads: 2, PosEmbedding: PosSinCos},
		{PatchSize: 4, Width: 32, Depth: 1, Heads: 2, PosEmbedding: 7},
	}
	for _, c := range bad {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: Validate returned no error", c)
		}
	}
	for _, c := range []ViTConfig{ViTTiny(4), ViTSmall(16), smallViT(7),
		{PatchSize: 4, Width: 64, Depth: 3, Heads: 4, PosEmbedding: PosSinCos}} {
		enc, err := ParseEncoder(c.Name())
		if err != nil {
			t.Errorf("ParseEncoder(%q): %v", c.Name(), err)
			continue
		}
		if enc.Name() != c.Name() || enc.FeatureDim() != c.Width {
			t.Errorf("ParseEncoder(%q) = %s with %d features", c.Name(), enc.Name(), enc.FeatureDim())
		}
	}
	if got := ViTTiny(4).Name(); got != "vit-tiny/4" {
		t.Errorf("ViTTiny(4).Name() = %q", got)
	}
	// An image that is not a multiple of the patch size is refused by the public entry points.
	g := graph.NewGraph(medssl.MustBackend(), "bad")
	x := graph.Parameter(g, "x", randomTensor(1, 1, 30, 30, 1).Shape())
	defer func() {
		if recover() == nil {
			t.Error("Encode on 30 px with patch 4 did not panic")
		}
	}()
	ViTTiny(4).Encode(model.NewStore().RootScope(), x)
}

func TestPatchifyMatchesNaive(t *testing.T) {
	const b, h, w, c, p = 2, 8, 12, 3, 4
	in := randomTensor(3, b, h, w, c)
	got := tensorsFlat(graph.MustExecOnce(medssl.MustBackend(), func(x *graph.Node) *graph.Node { return Patchify(x, p) }, in))
	x := tensorsFlat(in)
	gw, n, pp := w/p, (h/p)*(w/p), p*p*c
	for bi := range b {
		for i := range h {
			for j := range w {
				for k := range c {
					patch := (i/p)*gw + j/p
					off := ((i%p)*p+j%p)*c + k
					want := x[((bi*h+i)*w+j)*c+k]
					if g := got[(bi*n+patch)*pp+off]; g != want {
						t.Fatalf("pixel (%d,%d,%d,%d): patch %d offset %d = %v, want %v", bi, i, j, k, patch, off, g, want)
					}
				}
			}
		}
	}
}

// naiveBilinear resizes grid[h0][w0] to h×w like PyTorch's F.interpolate(bilinear,
// align_corners=False): source coordinate (i+0.5)·h0/h − 0.5, clamped at the edges.
func naiveBilinear(grid [][]float64, h, w int) [][]float64 {
	h0, w0 := len(grid), len(grid[0])
	src := func(i, to, from int) (int, int, float64) {
		s := math.Max((float64(i)+0.5)*float64(from)/float64(to)-0.5, 0)
		i0 := int(math.Floor(s))
		if i0 > from-1 {
			i0 = from - 1
		}
		i1 := i0 + 1
		if i1 > from-1 {
			i1 = from - 1
		}
		return i0, i1, s - float64(i0)
	}
	out := make([][]float64, h)
	for i := range h {
		out[i] = make([]float64, w)
		a0, a1, fa := src(i, h, h0)
		for j := range w {
			b0, b1, fb := src(j, w, w0)
			top := grid[a0][b0]*(1-fb) + grid[a0][b1]*fb
			bot := grid[a1][b0]*(1-fb) + grid[a1][b1]*fb
			out[i][j] = top*(1-fa) + bot*fa
		}
	}
	return out
}

func TestPositionEmbeddingResize(t *testing.T) {
	const h0, w0, d = 4, 3, 2
	in := randomTensor(9, h0, w0, d)
	x := tensorsFlat(in)
	for _, size := range [][2]int{{4, 3}, {7, 5}, {2, 2}, {8, 6}} {
		out := tensorsFlat(graph.MustExecOnce(medssl.MustBackend(), func(g *graph.Node) *graph.Node {
			return resizeGrid(g, size[0], size[1])
		}, in))
		for k := range d {
			grid := make([][]float64, h0)
			for i := range grid {
				grid[i] = make([]float64, w0)
				for j := range grid[i] {
					grid[i][j] = float64(x[(i*w0+j)*d+k])
				}
			}
			want := naiveBilinear(grid, size[0], size[1])
			for i := range size[0] {
				for j := range size[1] {
					if got := float64(out[(i*size[1]+j)*d+k]); math.Abs(got-want[i][j]) > 1e-5 {
						t.Fatalf("%v feature %d at (%d,%d): %v, want %v", size, k, i, j, got, want[i][j])
					}
				}
			}
		}
	}
}

func TestSinCosPositions(t *testing.T) {
	const gh, gw, d = 3, 4, 8
	pos := tensorsFlat(SinCosPositions(gh, gw, d))
	for i := range gh {
		for j := range gw {
			for k := range d / 4 {
				omega := math.Pow(10000, -float64(k)/float64(d/4))
				want := []float64{math.Sin(float64(i) * omega), math.Cos(float64(i) * omega), math.Sin(float64(j) * omega), math.Cos(float64(j) * omega)}
				for part, off := range []int{k, d/4 + k, d/2 + k, 3*d/4 + k} {
					if got := float64(pos[(i*gw+j)*d+off]); math.Abs(got-want[part]) > 1e-6 {
						t.Fatalf("(%d,%d) feature %d: %v, want %v", i, j, off, got, want[part])
					}
				}
			}
		}
	}
}

// naiveAttention is softmax(q·kᵀ/√d)·v per batch and head, q, k, v flat [B, T, H, d].
func naiveAttention(q, k, v []float32, b, t, h, d int) []float64 {
	at := func(x []float32, bi, ti, hi, di int) float64 { return float64(x[((bi*t+ti)*h+hi)*d+di]) }
	out := make([]float64, b*t*h*d)
	for bi := range b {
		for hi := range h {
			for i := range t {
				scores := make([]float64, t)
				maxS := math.Inf(-1)
				for j := range t {
					for di := range d {
						scores[j] += at(q, bi, i, hi, di) * at(k, bi, j, hi, di)
					}
					scores[j] /= math.Sqrt(float64(d))
					maxS = math.Max(maxS, scores[j])
				}
				var sum float64
				for j := range scores {
					scores[j] = math.Exp(scores[j] - maxS)
					sum += scores[j]
				}
				for di := range d {
					var acc float64
					for j := range t {
						acc += scores[j] / sum * at(v, bi, j, hi, di)
					}
					out[((bi*t+i)*h+hi)*d+di] = acc
				}
			}
		}
	}
	return out
}

// The training path (head-major einsums with the custom softmax gradient) and the backend's
// fused kernel both equal the naive reference.
func TestAttentionMatchesNaive(t *testing.T) {
	const b, tt, h, d = 2, 5, 3, 4
	qt, kt, vt := randomTensor(1, b, tt, h, d), randomTensor(2, b, tt, h, d), randomTensor(3, b, tt, h, d)
	want := naiveAttention(tensorsFlat(qt), tensorsFlat(kt), tensorsFlat(vt), b, tt, h, d)
	toHeads := func(x *graph.Node) *graph.Node { return graph.TransposeAllAxes(x, 0, 2, 1, 3) }
	paths := map[string]func(q, k, v *graph.Node) *graph.Node{
		"head-major": func(q, k, v *graph.Node) *graph.Node {
			return toHeads(attentionHeadMajor(toHeads(q), toHeads(k), toHeads(v)))
		},
		"fused": AttentionFused,
		"plain": Attention,
	}
	for name, fn := range paths {
		got := tensorsFlat(graph.MustExecOnce(medssl.MustBackend(), fn, qt, kt, vt))
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5 {
				t.Fatalf("%s: element %d = %v, naive %v", name, i, got[i], want[i])
			}
		}
	}
}

// The fused softmax and layer norm the ViT uses (graph.Softmax, nn.LayerNorm: backend
// kernels forward, decomposed gradients) equal the same functions written in plain ops,
// values and gradients.
func TestFusedOpsMatchPlainOps(t *testing.T) {
	plainSoftmax := func(x *graph.Node) *graph.Node {
		e := graph.Exp(graph.Sub(x, graph.StopGradient(graph.ReduceAndKeep(x, graph.ReduceMax, -1))))
		return graph.Div(e, graph.ReduceAndKeep(e, graph.ReduceSum, -1))
	}
	const eps = 1e-5
	plainNorm := func(x *graph.Node) *graph.Node {
		xc := graph.Sub(x, graph.ReduceAndKeep(x, graph.ReduceMean, -1))
		return graph.Div(xc, graph.Sqrt(graph.AddScalar(graph.ReduceAndKeep(graph.Square(xc), graph.ReduceMean, -1), eps)))
	}
	fusedNorm := func(x *graph.Node) *graph.Node { return nn.LayerNorm(x, []int{2}, eps, nil, nil, nil) }
	fusedSoftmax := func(x *graph.Node) *graph.Node { return graph.Softmax(x, -1) }
	x, r := randomTensor(4, 3, 5, 7), randomTensor(5, 3, 5, 7)
	// Scale up x so the softmax is far from uniform and the norm's inputs are not centred.
	x = graph.MustExecOnce(medssl.MustBackend(), func(x *graph.Node) *graph.Node { return graph.AddScalar(graph.MulScalar(x, 3), 1) }, x)
	for name, pair := range map[string][2]func(*graph.Node) *graph.Node{
		"softmax":   {fusedSoftmax, plainSoftmax},
		"layernorm": {fusedNorm, plainNorm},
	} {
		run := func(fn func(*graph.Node) *graph.Node) ([]float32, []float32) {
			res := graph.MustExecOnceN(medssl.MustBackend(), func(x, r *graph.Node) []*graph.Node {
				y := fn(x)
				return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x)[0]}
			}, x, r)
			return tensorsFlat(res[0]), tensorsFlat(res[1])
		}
		fy, fg := run(pair[0])
		py, pg := run(pair[1])
		for i := range fy {
			if math.Abs(float64(fy[i]-py[i])) > 1e-5 || math.Abs(float64(fg[i]-pg[i])) > 1e-4 {
				t.Fatalf("%s element %d: value %v / %v, gradient %v / %v (fused / plain)", name, i, fy[i], py[i], fg[i], pg[i])
			}
		}
	}
}

// TestViTSupervisedLossFalls trains a small ViT (width 32, depth 2, patch 7) with a linear
// classifier on 32 real BreastMNIST images with Adam, and checks that the cross-entropy on
// that batch falls to under half of its first value within 40 steps.
func TestViTSupervisedLossFalls(t *testing.T) {
	checkSupervisedLossFalls(t, smallViT(7), 40)
}

// The hand-written backward pass of attentionHeadMajor equals autodiff through the same
// attention written in plain ops, for q, k and v.
func TestAttentionGradientMatchesPlainOps(t *testing.T) {
	const b, h, tt, d = 2, 3, 5, 4
	plain := func(q, k, v *graph.Node) *graph.Node {
		s := graph.MulScalar(graph.Einsum("bhqd,bhkd->bhqk", q, k), 1/math.Sqrt(d))
		e := graph.Exp(graph.Sub(s, graph.StopGradient(graph.ReduceAndKeep(s, graph.ReduceMax, -1))))
		return graph.Einsum("bhqk,bhkd->bhqd", graph.Div(e, graph.ReduceAndKeep(e, graph.ReduceSum, -1)), v)
	}
	inputs := []*tensors.Tensor{randomTensor(11, b, h, tt, d), randomTensor(12, b, h, tt, d), randomTensor(13, b, h, tt, d), randomTensor(14, b, h, tt, d)}
	run := func(fn func(q, k, v *graph.Node) *graph.Node) [][]float32 {
		res := graph.MustExecOnceN(medssl.MustBackend(), func(q, k, v, r *graph.Node) []*graph.Node {
			y := fn(graph.MulScalar(q, 2), k, v) // sharper scores than uniform noise gives
			return append([]*graph.Node{y}, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), q, k, v)...)
		}, inputs[0], inputs[1], inputs[2], inputs[3])
		out := make([][]float32, len(res))
		for i := range res {
			out[i] = tensorsFlat(res[i])
		}
		return out
	}
	got, want := run(attentionHeadMajor), run(plain)
	for i, name := range []string{"output", "dq", "dk", "dv"} {
		for j := range want[i] {
			if math.Abs(float64(got[i][j]-want[i][j])) > 1e-5 {
				t.Fatalf("%s element %d: %v, plain ops %v", name, j, got[i][j], want[i][j])
			}
		}
	}
}

// Training graphs (hand-written attention backward) and inference graphs (the backend's
// fused attention kernel) compute the same features from the same weights.
func TestViTTrainingAndInferenceAgree(t *testing.T) {
	enc := smallViT(4)
	train, _, _ := encodeOnce(t, enc, true, 3, 28, 28, 1)
	infer, _, _ := encodeOnce(t, enc, false, 3, 28, 28, 1)
	for i := range train {
		if math.Abs(float64(train[i]-infer[i])) > 1e-4 {
			t.Fatalf("feature %d: training graph %v, inference graph %v", i, train[i], infer[i])
		}
	}
}
