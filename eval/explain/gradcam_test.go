package explain

import (
	"errors"
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// tinyResNet is a ResNet-18 of base width 4: stages of 4, 8, 16 and 32 channels, the last
// one 4×4 on 28 px images.
var tinyResNet = models.ResNetConfig{Depth: 18, BaseWidth: 4, Stem: models.SmallImageStem}

// trainTiny trains tinyResNet for one epoch on BreastMNIST, so that batch-norm statistics
// and the head are those of a trained classifier, not of initialisation.
func trainTiny(t *testing.T, ds *data.Dataset) *supervised.Classifier {
	t.Helper()
	cfg := supervised.DefaultConfig()
	cfg.Backend, cfg.Encoder = medssl.MustBackend(), tinyResNet
	cfg.Epochs, cfg.BatchSize, cfg.Seed = 1, 64, 1
	clf, err := supervised.Train(ds.Train, ds.Val, ds.NumClasses, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return clf
}

// flat64 copies a tensor to float64.
func flat64(t *testing.T, x *tensors.Tensor) []float64 {
	t.Helper()
	f, err := tensors.CopyFlatData[float32](x)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(f))
	for i, v := range f {
		out[i] = float64(v)
	}
	return out
}

// variable returns a store variable's values.
func variable(t *testing.T, store *model.Store, path string) []float64 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	return flat64(t, v.MustValue())
}

// naiveBilinear is PyTorch's F.interpolate(mode="bilinear", align_corners=False), written
// from its definition: output pixel (i, j) reads the input at ((i+0.5)·gh/h − 0.5,
// (j+0.5)·gw/w − 0.5), clamped to the input's edges, mixing the four neighbours.
func naiveBilinear(grid []float64, gh, gw, h, w int) []float64 {
	coord := func(i, to, from int) (int, int, float64) {
		s := (float64(i)+0.5)*float64(from)/float64(to) - 0.5
		if s < 0 {
			s = 0
		}
		lo := int(math.Floor(s))
		if lo > from-1 {
			lo = from - 1
		}
		hi := lo + 1
		if hi > from-1 {
			hi = from - 1
		}
		return lo, hi, s - float64(lo)
	}
	out := make([]float64, h*w)
	for i := range h {
		y0, y1, fy := coord(i, h, gh)
		for j := range w {
			x0, x1, fx := coord(j, w, gw)
			out[i*w+j] = (1-fy)*((1-fx)*grid[y0*gw+x0]+fx*grid[y0*gw+x1]) + fy*((1-fx)*grid[y1*gw+x0]+fx*grid[y1*gw+x1])
		}
	}
	return out
}

// checkHeat compares a map's Heat with the reference grid upsampled naively and divided by
// its maximum.
func checkHeat(t *testing.T, what string, m Map, grid []float64) {
	t.Helper()
	up := naiveBilinear(grid, m.GridHeight, m.GridWidth, m.Height, m.Width)
	peak := 0.0
	for _, v := range up {
		peak = math.Max(peak, v)
	}
	for i, v := range up {
		if math.Abs(float64(m.Heat[i])-v/peak) > 1e-4 {
			t.Fatalf("%s: heat[%d] = %v, naive %v", what, i, m.Heat[i], v/peak)
		}
	}
}

// For encoder → global average pool → linear head, the class score is
// y_c = Σ_k W[k,c]·mean_ij A_k(i,j) + b_c, so ∂y_c/∂A_k(i,j) = W[k,c]/(h·w) everywhere and
// Grad-CAM is ReLU(Σ_k W[k,c]·A_k)/(h·w): checked on a trained ResNet, with the feature
// maps, logits and probabilities from the models and supervised packages' own paths.
func TestGradCAMMatchesAnalyticGradient(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	clf := trainTiny(t, ds)
	sel, err := ChooseImages(ds.Test, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	imgs := sel.Images
	m, err := FromClassifier(clf)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := model.MustNewExec(clf.Backend(), clf.Store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		s := tinyResNet.Stages(scope.In(models.EncoderScope), x)
		return s[len(s)-1]
	}).Exec(imgs.ImagesTensor())
	if err != nil {
		t.Fatal(err)
	}
	dims := stages[0].Shape().Dimensions
	gh, gw, k := dims[1], dims[2], dims[3]
	if gh != 4 || gw != 4 || k != 32 {
		t.Fatalf("last stage %v, want [B 4 4 32]", dims)
	}
	a := flat64(t, stages[0])
	wts := variable(t, clf.Store, "/head/dense/weights") // [K, C]
	logits, err := clf.Logits(imgs)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := clf.Predict(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []Target{TrueClass, PredictedClass, 0, 1} {
		maps, err := m.GradCAM(imgs, target, LastStage)
		if err != nil {
			t.Fatal(err)
		}
		if len(maps) != imgs.N {
			t.Fatalf("%d maps for %d images", len(maps), imgs.N)
		}
		for b, mp := range maps {
			pred := 0
			if logits[b][1] > logits[b][0] {
				pred = 1
			}
			want := map[Target]int{TrueClass: imgs.Label(b), PredictedClass: pred, 0: 0, 1: 1}[target]
			if mp.Class != want || mp.Predicted != pred {
				t.Fatalf("target %d image %d: class %d predicted %d, want %d and %d", target, b, mp.Class, mp.Predicted, want, pred)
			}
			c := mp.Class
			if math.Abs(float64(mp.Score-logits[b][c])) > 1e-4 || math.Abs(float64(mp.Probs[c]-probs[b][c])) > 1e-5 {
				t.Fatalf("image %d: score %v prob %v, classifier %v %v", b, mp.Score, mp.Probs[c], logits[b][c], probs[b][c])
			}
			grid := make([]float64, gh*gw)
			for ch := range k {
				alpha := wts[ch*2+c] / float64(gh*gw)
				if math.Abs(float64(mp.Weights[ch])-alpha) > 1e-6 {
					t.Fatalf("image %d channel %d: α %v, analytic %v", b, ch, mp.Weights[ch], alpha)
				}
				for p := range gh * gw {
					grid[p] += alpha * a[(b*gh*gw+p)*k+ch]
				}
			}
			positive := false
			for p, v := range grid {
				grid[p] = math.Max(v, 0)
				positive = positive || v > 0
				if math.Abs(float64(mp.Grid[p])-grid[p]) > 1e-5 {
					t.Fatalf("image %d class %d position %d: map %v, analytic %v", b, c, p, mp.Grid[p], grid[p])
				}
			}
			if mp.Zero == positive {
				t.Fatalf("image %d: Zero = %v with a positive reference: %v", b, mp.Zero, positive)
			}
			if positive {
				checkHeat(t, "resnet", mp, grid)
			}
		}
	}
}

// smoothNet is a test encoder with two feature maps, A1 (14×14, 4 channels) and A2
// (7×7, 6 channels), and smooth activations so that finite differences are accurate:
// Grad-CAM on A1 differentiates through a convolution, tanh and the pool, which no simple
// formula gives.
type smoothNet struct{}

func (smoothNet) Name() string    { return "smooth" }
func (smoothNet) FeatureDim() int { return 6 }
func (n smoothNet) Encode(scope *model.Scope, x *graph.Node) *graph.Node {
	s := n.Stages(scope, x)
	return graph.ReduceMean(s[1], 1, 2)
}
func (n smoothNet) Stages(scope *model.Scope, x *graph.Node) []*graph.Node {
	a1 := n.first(scope, x)
	return []*graph.Node{a1, n.second(scope, a1)}
}
func (smoothNet) first(scope *model.Scope, x *graph.Node) *graph.Node {
	return graph.Tanh(models.ConvLayer(scope.ResetVisited().In("conv1"), x, 4, 3, 2, 1))
}
func (smoothNet) second(scope *model.Scope, a1 *graph.Node) *graph.Node {
	return activation.Apply(activation.TypeGelu, models.ConvLayer(scope.ResetVisited().In("conv2"), a1, 6, 3, 2, 1))
}

// Grad-CAM's channel weights on an inner feature map equal central finite differences of
// the class logit: α_k = (1/(h·w))·d/dt y_c(A1 + t·1_k) at t = 0, where 1_k is all ones on
// channel k, i.e. the spatial sum of ∂y_c/∂A_k. The map is then ReLU(Σ_k α_k A1_k).
func TestGradCAMMatchesFiniteDifferences(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	imgs := ds.Test.Subset([]int{0, 1, 2, 3})
	backend := medssl.MustBackend()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(7))
	head := func(scope *model.Scope, f *graph.Node) *graph.Node {
		return layers.DenseWithBias(scope.In("head"), f, 3)
	}
	m := &Model{Backend: backend, Encoder: smoothNet{}, Store: store, NumClasses: 3, head: head}
	maps, err := m.GradCAM(imgs, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	var net smoothNet
	exec := model.MustNewExec(backend, store, func(scope *model.Scope, x, delta *graph.Node) []*graph.Node {
		enc := scope.In(models.EncoderScope)
		a1 := net.first(enc, x)
		moved := graph.Add(a1, graph.ExpandLeftToRank(delta, 4))
		logits := head(scope, graph.ReduceMean(net.second(enc, moved), 1, 2))
		return []*graph.Node{a1, logits}
	})
	const k, eps = 4, 1e-2
	score := func(delta []float32) (a1, y []float64) {
		res, err := exec.Exec(imgs.ImagesTensor(), tensors.FromValue(delta))
		if err != nil {
			t.Fatal(err)
		}
		return flat64(t, res[0]), flat64(t, res[1])
	}
	a1, _ := score(make([]float32, k))
	alpha := make([][]float64, imgs.N)
	for b := range alpha {
		alpha[b] = make([]float64, k)
	}
	const gh, gw = 14, 14
	for ch := range k {
		d := make([]float32, k)
		d[ch] = eps
		_, up := score(d)
		d[ch] = -eps
		_, down := score(d)
		for b := range imgs.N {
			alpha[b][ch] = (up[b*3+2] - down[b*3+2]) / (2 * eps) / (gh * gw)
		}
	}
	for b, mp := range maps {
		if mp.GridHeight != gh || mp.GridWidth != gw || mp.Class != 2 {
			t.Fatalf("image %d: %d×%d map of class %d, want 14×14 of class 2", b, mp.GridHeight, mp.GridWidth, mp.Class)
		}
		// Float32 central differences of step 1e-2: about three significant digits.
		for ch := range k {
			if diff := math.Abs(float64(mp.Weights[ch]) - alpha[b][ch]); diff > 1e-3*math.Abs(alpha[b][ch])+1e-6 {
				t.Fatalf("image %d channel %d: α %v, finite differences %v", b, ch, mp.Weights[ch], alpha[b][ch])
			}
		}
		grid := make([]float64, gh*gw)
		for p := range grid {
			for ch := range k {
				grid[p] += alpha[b][ch] * a1[(b*gh*gw+p)*k+ch]
			}
			grid[p] = math.Max(grid[p], 0)
			if diff := math.Abs(float64(mp.Grid[p]) - grid[p]); diff > 2e-3*math.Abs(grid[p])+1e-6 {
				t.Fatalf("image %d position %d: map %v, finite differences %v", b, p, mp.Grid[p], grid[p])
			}
		}
	}
}

// A linear probe is explained through its own head on its own frozen encoder: its Grad-CAM
// scores are the probe's logits, and its weights the analytic W[k,c]/(h·w) of the probe's
// head (not of any other store's).
func TestGradCAMOfProbe(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	clf := trainTiny(t, ds)
	cfg := eval.DefaultProbeConfig()
	cfg.Backend, cfg.Encoder, cfg.Epochs, cfg.Seed = clf.Backend(), tinyResNet, 2, 3
	probe, err := eval.LinearProbe(ds.Train, ds.Val, ds.NumClasses, clf.Store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	m, err := FromProbe(probe)
	if err != nil {
		t.Fatal(err)
	}
	imgs := ds.Test.Subset([]int{5, 6, 7})
	maps, err := m.GradCAM(imgs, 1, LastStage)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := probe.Logits(imgs)
	if err != nil {
		t.Fatal(err)
	}
	wts := variable(t, probe.Head.Store, "/head/dense/weights")
	for b, mp := range maps {
		if math.Abs(float64(mp.Score-logits[b][1])) > 1e-4 {
			t.Fatalf("image %d: score %v, probe logit %v", b, mp.Score, logits[b][1])
		}
		for ch, w := range mp.Weights {
			if want := wts[ch*2+1] / 16; math.Abs(float64(w)-want) > 1e-6 {
				t.Fatalf("image %d channel %d: α %v, probe head %v", b, ch, w, want)
			}
		}
	}
	// The classifier's own head differs from the probe's: its maps must differ too.
	own, err := FromClassifier(clf)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := own.GradCAM(imgs, 1, LastStage)
	if err != nil {
		t.Fatal(err)
	}
	if theirs[0].Weights[0] == maps[0].Weights[0] {
		t.Error("the probe's Grad-CAM used the classifier's head")
	}
}

func TestGradCAMRefusals(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	backend := medssl.MustBackend()
	knn, err := FromEncoder(backend, model.NewStore(), tinyResNet)
	if err != nil {
		t.Fatal(err)
	}
	imgs := ds.Test.Subset([]int{0})
	if _, err := knn.GradCAM(imgs, TrueClass, LastStage); !errors.Is(err, ErrNoGradient) {
		t.Errorf("Grad-CAM without a head: %v, want ErrNoGradient", err)
	}
	sel := &Selection{Images: imgs, Indices: []int{0}}
	col, err := NewColumn("knn", knn, sel, TrueClass)
	if err != nil || col.Maps != nil || col.Note == "" {
		t.Errorf("kNN column %+v, %v: want an empty column with a note", col, err)
	}
	noStages := &Model{Backend: backend, Encoder: testutil.SmallEncoder{Width: 8}, Store: model.NewStore(), NumClasses: 2,
		head: func(s *model.Scope, f *graph.Node) *graph.Node { return layers.DenseWithBias(s.In("head"), f, 2) }}
	if _, err := noStages.GradCAM(imgs, TrueClass, LastStage); !errors.Is(err, ErrNoGradient) {
		t.Errorf("Grad-CAM without feature maps: %v, want ErrNoGradient", err)
	}
	withHead := &Model{Backend: backend, Encoder: tinyResNet, Store: model.NewStore(), NumClasses: 2, head: noStages.head}
	if _, err := withHead.GradCAM(imgs, 5, LastStage); err == nil {
		t.Error("target class 5 of 2 accepted")
	}
	if _, err := withHead.GradCAM(imgs, TrueClass, 9); err == nil {
		t.Error("stage 9 of 5 accepted")
	}
	if _, err := FromClassifier(&supervised.Classifier{Store: model.NewStore(), NumClasses: 2}); err == nil {
		t.Error("a classifier on features accepted by FromClassifier")
	}
}
