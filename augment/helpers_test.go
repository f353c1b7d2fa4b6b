package augment_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
)

// batch is a host-side [B, H, W, C] float32 image batch.
type batch struct {
	B, H, W, C int
	Data       []float32
}

func (x batch) at(b, i, j, c int) float32 { return x.Data[((b*x.H+i)*x.W+j)*x.C+c] }
func (x batch) tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(x.Data, x.B, x.H, x.W, x.C)
}
func (x batch) sample(b int) []float32 {
	n := x.H * x.W * x.C
	return x.Data[b*n : (b+1)*n]
}
func newBatch(b, h, w, c int) batch {
	return batch{B: b, H: h, W: w, C: c, Data: make([]float32, b*h*w*c)}
}

// loadBreast reads the first n BreastMNIST training images as [n, 28, 28, 1] in [0, 1].
func loadBreast(t testing.TB, n int) batch {
	t.Helper()
	d, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	tr := d.Train
	if tr.N < n || tr.Height != 28 || tr.Width != 28 || tr.Channels != 1 {
		t.Fatalf("%s train split: %d images of %dx%dx%d, want at least %d of 28x28x1", d.File, tr.N, tr.Height, tr.Width, tr.Channels, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return batch{B: n, H: 28, W: 28, C: 1, Data: tr.ImagesFloat32(idx)}
}

// run builds and executes fn once on a fresh store seeded with seed and returns its outputs
// as flat float32 slices.
func run(t testing.TB, seed int64, fn func(scope *model.Scope, in []*graph.Node) []*graph.Node, args ...any) [][]float32 {
	t.Helper()
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(seed); err != nil {
		t.Fatal(err)
	}
	outs, err := model.CallOnceN(medssl.MustBackend(), store, fn, args...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		res[i] = tensors.MustCopyFlatData[float32](o)
	}
	return res
}

// apply runs one transform on x with the given seed.
func apply(t testing.TB, seed int64, x batch, tr interface {
	Apply(*model.Scope, *graph.Node) *graph.Node
}) batch {
	t.Helper()
	out := run(t, seed, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{tr.Apply(scope, in[0])}
	}, x.tensor())[0]
	return batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: out}
}

// maxAbsDiff returns max |a−b|, failing when lengths differ.
func maxAbsDiff(t testing.TB, a, b []float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("length %d != %d", len(a), len(b))
	}
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
