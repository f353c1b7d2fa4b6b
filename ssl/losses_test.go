package ssl

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// Test helpers shared by the tests of rotation, jigsaw, simsiam, barlowtwins and vicreg.

// pretextSplit is the BreastMNIST training split (the file embedded in package data).
func pretextSplit(t testing.TB) *data.Split {
	t.Helper()
	d, err := data.LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return d.Train
}

// pretextImages returns the first n BreastMNIST training images, [n, 28, 28, 1] in [0, 1],
// flat (row-major) and as a tensor.
func pretextImages(t testing.TB, n int) ([]float32, *tensors.Tensor) {
	t.Helper()
	s := pretextSplit(t)
	if s.N < n || s.Height != 28 || s.Width != 28 || s.Channels != 1 {
		t.Fatalf("breastmnist train: %d images of %dx%dx%d, want %d of 28x28x1", s.N, s.Height, s.Width, s.Channels, n)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	flat := s.ImagesFloat32(idx)
	return flat, tensors.FromFlatDataAndDimensions(flat, n, 28, 28, 1)
}

// pretextRandMatrix returns a b×d matrix of N(0, 1) values, as rows and as a float64 tensor.
func pretextRandMatrix(rng *rand.Rand, b, d int) ([][]float64, *tensors.Tensor) {
	rows := make([][]float64, b)
	flat := make([]float64, 0, b*d)
	for i := range rows {
		rows[i] = make([]float64, d)
		for k := range rows[i] {
			rows[i][k] = rng.NormFloat64()
			flat = append(flat, rows[i][k])
		}
	}
	return rows, tensors.FromFlatDataAndDimensions(flat, b, d)
}

// pretextScalar runs a graph function once on the go backend and returns its scalar result.
func pretextScalar(t testing.TB, fn any, args ...any) float64 {
	t.Helper()
	var out *tensors.Tensor
	var err error
	switch f := fn.(type) {
	case func(a, b *graph.Node) *graph.Node:
		out, err = graph.ExecOnce(medssl.MustBackend(), f, args...)
	case func(a, b, c, d *graph.Node) *graph.Node:
		out, err = graph.ExecOnce(medssl.MustBackend(), f, args...)
	default:
		t.Fatalf("pretextScalar: unsupported function type %T", fn)
	}
	if err != nil {
		t.Fatal(err)
	}
	if out.Shape().Rank() != 0 {
		t.Fatalf("result has shape %s, want a scalar", out.Shape())
	}
	return tensors.ToScalar[float64](out)
}

// pretextClose reports whether got matches want to a relative tolerance tol.
func pretextClose(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// pretextLossOnce builds m's loss on the first batch BreastMNIST images (every view the
// unaugmented batch) in training mode and checks it is a finite scalar.
func pretextLossOnce(t *testing.T, m Method, enc models.Encoder, batch int) float64 {
	t.Helper()
	_, x := pretextImages(t, batch)
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(3); err != nil {
		t.Fatal(err)
	}
	out, err := model.CallOnce(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		scope.SetTraining(x.Graph(), true)
		views := make([]*graph.Node, m.Views())
		for i := range views {
			views[i] = x
		}
		return m.Loss(scope, enc, views)
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	if out.Shape().Rank() != 0 {
		t.Fatalf("%s loss has shape %s, want a scalar", m.Name(), out.Shape())
	}
	l := float64(tensors.ToScalar[float32](out))
	if math.IsNaN(l) || math.IsInf(l, 0) {
		t.Fatalf("%s loss is %v", m.Name(), l)
	}
	return l
}

// pretextLossFalls pretrains testutil.SmallEncoder{Width: width} with m on real BreastMNIST
// for steps steps of batch images and requires the mean of the last k losses to be below
// the mean of the first k by at least margin. It returns that last mean.
func pretextLossFalls(t *testing.T, m Method, width, steps, batch, k int, margin float64) float64 {
	t.Helper()
	res, err := Pretrain(pretextSplit(t), testPretrain(testutil.SmallEncoder{Width: width}, m, steps, batch, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Loss) != steps {
		t.Fatalf("%d losses, want %d", len(res.Loss), steps)
	}
	// Trainable weights live under the encoder scope or the method's own scope only.
	encPrefix, headPrefix := "/"+models.EncoderScope, "/ssl/"+m.Name()
	heads := 0
	for v := range res.Store.IterVariables() {
		if !v.Trainable {
			continue
		}
		s := v.Scope() + "/"
		switch {
		case strings.HasPrefix(s, encPrefix+"/"):
		case strings.HasPrefix(s, headPrefix+"/"):
			heads++
		default:
			t.Errorf("%s: trainable variable %s outside %s and %s", m.Name(), v.Path(), encPrefix, headPrefix)
		}
	}
	if heads == 0 {
		t.Errorf("%s: no head variables under %s", m.Name(), headPrefix)
	}
	avg := func(xs []float64) float64 {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	first, last := avg(res.Loss[:k]), avg(res.Loss[steps-k:])
	t.Logf("%s: mean loss of the first %d steps %.4f, of the last %d %.4f (%d steps, batch %d)", m.Name(), k, first, k, last, steps, batch)
	if !(last < first-margin) {
		t.Errorf("%s loss did not fall by %g: first %d steps %.4f, last %d %.4f; all %v", m.Name(), margin, k, first, k, last, res.Loss)
	}
	return last
}

// naiveCrossEntropy is −(1/N) Σ_n log softmax(logits_n)[labels_n] with plain loops.
func naiveCrossEntropy(logits [][]float64, labels []int) float64 {
	total := 0.0
	for n, row := range logits {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		sum := 0.0
		for _, v := range row {
			sum += math.Exp(v - mx)
		}
		total += -(row[labels[n]] - mx - math.Log(sum))
	}
	return total / float64(len(logits))
}

func TestPretextCrossEntropyMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	logits, lt := pretextRandMatrix(rng, 6, 5)
	labels := []int{0, 4, 2, 2, 1, 3}
	labels32 := make([]int32, len(labels))
	for i, l := range labels {
		labels32[i] = int32(l)
	}
	got := pretextScalar(t, func(a, b *graph.Node) *graph.Node { return pretextCrossEntropy(a, b) }, lt, labels32)
	if want := naiveCrossEntropy(logits, labels); !pretextClose(got, want, 1e-9) {
		t.Errorf("cross-entropy %v, naive %v", got, want)
	}
}

// Every method of this family is registered under its name with its paper's defaults.
func TestPretextMethodsRegistered(t *testing.T) {
	for name, views := range map[string]int{"rotation": 1, "jigsaw": 1, "simsiam": 2, "barlowtwins": 2, "vicreg": 2} {
		m, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name() != name || m.Views() != views {
			t.Errorf("New(%q): name %q, %d views; want %q, %d", name, m.Name(), m.Views(), name, views)
		}
	}
}
