package models_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// milValues returns n seeded values in [-1, 1).
func milValues(seed uint64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]float32, n)
	for i := range out {
		out[i] = rng.Float32()*2 - 1
	}
	return out
}

// milReference is gated attention pooling written out with loops: for each bag b,
// logit_s = Σ_j w_j tanh(bV_j + Σ_f h_sf V_fj) σ(bU_j + Σ_f h_sf U_fj) over the slices
// with mask 1, a = softmax(logit), pooled_f = Σ_s a_s h_sf.
func milReference(h []float32, mask []float32, B, S, F, L int, V, bV, U, bU, w []float32) (pooled, attn []float64) {
	pooled, attn = make([]float64, B*F), make([]float64, B*S)
	for b := range B {
		logit := make([]float64, S)
		maxL := math.Inf(-1)
		for s := range S {
			if mask != nil && mask[b*S+s] == 0 {
				continue
			}
			for j := range L {
				pv, pu := float64(bV[j]), float64(bU[j])
				for f := range F {
					x := float64(h[(b*S+s)*F+f])
					pv += x * float64(V[f*L+j])
					pu += x * float64(U[f*L+j])
				}
				logit[s] += float64(w[j]) * math.Tanh(pv) / (1 + math.Exp(-pu))
			}
			maxL = math.Max(maxL, logit[s])
		}
		var z float64
		for s := range S {
			if mask == nil || mask[b*S+s] != 0 {
				attn[b*S+s] = math.Exp(logit[s] - maxL)
				z += attn[b*S+s]
			}
		}
		for s := range S {
			attn[b*S+s] /= z
			for f := range F {
				pooled[b*F+f] += attn[b*S+s] * float64(h[(b*S+s)*F+f])
			}
		}
	}
	return pooled, attn
}

func TestAttentionPoolMatchesReference(t *testing.T) {
	const B, S, F, L = 2, 3, 4, 5
	store := model.NewStore()
	// Set every weight, biases included, to known non-zero values.
	params := map[string][]float32{}
	for i, v := range []struct {
		scope, name string
		dims        []int
	}{
		{"/mil/V/dense", "weights", []int{F, L}}, {"/mil/V/dense", "biases", []int{L}},
		{"/mil/U/dense", "weights", []int{F, L}}, {"/mil/U/dense", "biases", []int{L}},
		{"/mil/w/dense", "weights", []int{L, 1}},
	} {
		n := 1
		for _, d := range v.dims {
			n *= d
		}
		vals := milValues(uint64(10+i), n)
		params[v.scope+"/"+v.name] = vals
		if _, err := store.Scope(v.scope).CreateVariable(v.name, tensors.FromFlatDataAndDimensions(vals, v.dims...)); err != nil {
			t.Fatal(err)
		}
	}
	h := milValues(1, B*S*F)
	for _, mask := range [][]float32{nil, {1, 1, 1, 1, 0, 1}} {
		exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, h, m *graph.Node) (*graph.Node, *graph.Node) {
			if mask == nil {
				m = nil
			}
			return models.AttentionPool(scope.In(models.MILScope), h, m, L)
		})
		if err != nil {
			t.Fatal(err)
		}
		m := mask
		if m == nil {
			m = make([]float32, B*S) // ignored
		}
		res, err := exec.Exec(tensors.FromFlatDataAndDimensions(h, B, S, F), tensors.FromFlatDataAndDimensions(m, B, S))
		if err != nil {
			t.Fatal(err)
		}
		if d := res[0].Shape().Dimensions; len(d) != 2 || d[0] != B || d[1] != F {
			t.Fatalf("pooled %s, want [%d %d]", res[0].Shape(), B, F)
		}
		if d := res[1].Shape().Dimensions; len(d) != 2 || d[0] != B || d[1] != S {
			t.Fatalf("attention %s, want [%d %d]", res[1].Shape(), B, S)
		}
		gotP := tensors.MustCopyFlatData[float32](res[0])
		gotA := tensors.MustCopyFlatData[float32](res[1])
		wantP, wantA := milReference(h, mask, B, S, F, L,
			params["/mil/V/dense/weights"], params["/mil/V/dense/biases"],
			params["/mil/U/dense/weights"], params["/mil/U/dense/biases"], params["/mil/w/dense/weights"])
		for i := range wantP {
			if math.Abs(float64(gotP[i])-wantP[i]) > 1e-5 {
				t.Errorf("mask %v: pooled[%d] = %v, reference %v", mask, i, gotP[i], wantP[i])
			}
		}
		for i := range wantA {
			if math.Abs(float64(gotA[i])-wantA[i]) > 1e-6 {
				t.Errorf("mask %v: attention[%d] = %v, reference %v", mask, i, gotA[i], wantA[i])
			}
		}
		if mask != nil && gotA[4] != 0 {
			t.Errorf("masked slice got attention %v, want exactly 0", gotA[4])
		}
		exec.Finalize()
	}
}

// On real BreastMNIST bags: the bag feature is the attention-weighted sum of the
// encoder's features of the bag's own slices (checked by encoding the slices alone),
// and the weights sum to 1 over each bag.
func TestAttentionMILOnBreastMNIST(t *testing.T) {
	ds, err := data.BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	bags, err := data.RandomBags(ds.Train, 4, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	const B, S, W = 3, 4, 8
	var idx []int
	for _, bag := range bags.Bags[:B] {
		idx = append(idx, bag...)
	}
	sp := bags.Slices
	images := sp.ImagesFloat32(idx)
	enc := testutil.SmallEncoder{Width: W}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	backend := medssl.MustBackend()

	milExec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		return models.AttentionMIL(scope, enc, x)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer milExec.Finalize()
	res, err := milExec.Exec(tensors.FromFlatDataAndDimensions(images, B, S, sp.Height, sp.Width, sp.Channels))
	if err != nil {
		t.Fatal(err)
	}
	if d := res[0].Shape().Dimensions; len(d) != 2 || d[0] != B || d[1] != W {
		t.Fatalf("bag features %s, want [%d %d]", res[0].Shape(), B, W)
	}
	if d := res[1].Shape().Dimensions; len(d) != 2 || d[0] != B || d[1] != S {
		t.Fatalf("attention %s, want [%d %d]", res[1].Shape(), B, S)
	}
	feats := tensors.MustCopyFlatData[float32](res[0])
	attn := tensors.MustCopyFlatData[float32](res[1])

	encExec, err := model.NewExec(backend, store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return enc.Encode(scope.In(models.EncoderScope), x)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer encExec.Finalize()
	hs, err := encExec.Exec(tensors.FromFlatDataAndDimensions(images, B*S, sp.Height, sp.Width, sp.Channels))
	if err != nil {
		t.Fatal(err)
	}
	h := tensors.MustCopyFlatData[float32](hs[0])
	for b := range B {
		var sum float64
		for s := range S {
			a := float64(attn[b*S+s])
			if a < 0 {
				t.Errorf("bag %d slice %d: attention %v < 0", b, s, a)
			}
			sum += a
		}
		if math.Abs(sum-1) > 1e-6 {
			t.Errorf("bag %d: attention sums to %v", b, sum)
		}
		for f := range W {
			var want float64
			for s := range S {
				want += float64(attn[b*S+s]) * float64(h[(b*S+s)*W+f])
			}
			if math.Abs(float64(feats[b*W+f])-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("bag %d feature %d = %v, Σ a_s h_s = %v", b, f, feats[b*W+f], want)
			}
		}
	}
	// The encoder's variables live under EncoderScope, so a 2D-pretrained encoder loads.
	n := 0
	for v := range store.IterVariables() {
		if len(v.Scope()) >= len("/"+models.EncoderScope) && v.Scope()[:len("/"+models.EncoderScope)] == "/"+models.EncoderScope {
			n++
		}
	}
	if n == 0 {
		t.Error("no encoder variables under /" + models.EncoderScope)
	}

	// A 4D input is an error, not a crash.
	if _, err := milExec.Exec(tensors.FromFlatDataAndDimensions(images, B*S, sp.Height, sp.Width, sp.Channels)); err == nil {
		t.Error("AttentionMIL accepted [B*S, H, W, C] images")
	}
}

// Two bags of three 28×28 slices each (real BreastMNIST images) through a 2D encoder
// and gated attention pooling.
func ExampleAttentionMIL() {
	ds, err := data.BreastMNIST()
	if err != nil {
		fmt.Println(err)
		return
	}
	bags := tensors.FromFlatDataAndDimensions(ds.Train.ImagesFloat32([]int{0, 1, 2, 3, 4, 5}), 2, 3, 28, 28, 1)
	exec, err := model.NewExec(medssl.MustBackend(), model.NewStore(), func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		return models.AttentionMIL(scope, testutil.SmallEncoder{Width: 16}, x)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := exec.Exec(bags)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("bag features", res[0].Shape(), "attention", res[1].Shape())
	// Output:
	// bag features (Float32)[2, 16] attention (Float32)[2, 3]
}
