package eval

import (
	"cmp"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

// naiveNeighbours sorts every training point by its similarity to q, the definition written
// out (stable on index): the k nearest are the first k.
func naiveNeighbours(train [][]float32, q []float32, cosine bool) (idx []int, sims []float64) {
	sims = make([]float64, len(train))
	for j, a := range train {
		if cosine {
			var dot, na, nb float64
			for i := range a {
				dot += float64(a[i]) * float64(q[i])
				na += float64(a[i]) * float64(a[i])
				nb += float64(q[i]) * float64(q[i])
			}
			sims[j] = dot / math.Sqrt(na*nb)
			continue
		}
		var d float64
		for i := range a {
			d += (float64(a[i]) - float64(q[i])) * (float64(a[i]) - float64(q[i]))
		}
		sims[j] = -math.Sqrt(d)
	}
	idx = make([]int, len(train))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(sims[b], sims[a]) })
	return idx, sims
}

// naiveKNN takes the k nearest, adds exp(sim/T) per class and normalises.
func naiveKNN(train [][]float32, labels []int32, q []float32, classes, k int, temp float64, cosine bool) []float64 {
	idx, sims := naiveNeighbours(train, q, cosine)
	out := make([]float64, classes)
	var total float64
	for _, i := range idx[:min(k, len(idx))] {
		w := math.Exp(sims[i] / temp)
		out[labels[i]] += w
		total += w
	}
	for c := range out {
		out[c] /= total
	}
	return out
}

func TestKNNScoresHandExample(t *testing.T) {
	// Query (1, 0); training points at angles 0°, 45°, 90°, 180° with labels 1, 1, 0, 0.
	train := [][]float32{{2, 0}, {1, 1}, {0, 3}, {-1, 0}}
	labels := []int32{1, 1, 0, 0}
	q := [][]float32{{1, 0}}
	// k = 3, T = 1, cosine: sims 1, 1/√2, 0 → class 1 gets e + e^{0.7071}, class 0 gets e^0.
	got, err := KNNScores(train, labels, q, 2, KNNConfig{K: 3, Temperature: 1, Distance: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	w1, w0 := math.E+math.Exp(1/math.Sqrt2), 1.0
	want := []float64{w0 / (w0 + w1), w1 / (w0 + w1)}
	for c := range want {
		if math.Abs(got[0][c]-want[c]) > 1e-12 {
			t.Errorf("cosine class %d: %v, want %v", c, got[0][c], want[c])
		}
	}
	// Euclidean, k = 2, T = 0.5: distances 1, 1 (tie: lower index first), so points 0 and 1,
	// both class 1.
	got, err = KNNScores(train, labels, q, 2, KNNConfig{K: 2, Temperature: 0.5, Distance: Euclidean})
	if err != nil {
		t.Fatal(err)
	}
	if got[0][0] != 0 || got[0][1] != 1 {
		t.Errorf("euclidean: %v, want [0 1]", got[0])
	}
}

// Random data against the naive definition, including k larger than the training set and
// tiny temperatures (where exp(sim/T) alone would overflow).
func TestKNNScoresMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := range 30 {
		n, dim, classes := 5+rng.Intn(30), 1+rng.Intn(6), 2+rng.Intn(3)
		mk := func(m int) [][]float32 {
			out := make([][]float32, m)
			for i := range out {
				out[i] = make([]float32, dim)
				for j := range out[i] {
					out[i][j] = float32(rng.NormFloat64())
				}
			}
			return out
		}
		train, queries := mk(n), mk(4)
		labels := make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.Intn(classes))
		}
		cfg := KNNConfig{K: 1 + rng.Intn(n+5), Temperature: []float64{0.07, 1, 0.5}[trial%3], Distance: Distance(trial % 2)}
		got, err := KNNScores(train, labels, queries, classes, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range queries {
			want := naiveKNN(train, labels, q, classes, cfg.K, cfg.Temperature, cfg.Distance == Cosine)
			var sum float64
			for c := range want {
				sum += got[qi][c]
				if math.Abs(got[qi][c]-want[c]) > 1e-9 {
					t.Fatalf("trial %d (%+v) query %d: %v, naive %v", trial, cfg, qi, got[qi], want)
				}
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Fatalf("scores sum to %v", sum)
			}
		}
	}
	// Temperature 1e-3 with cosine similarities: exp(1000) overflows; the shifted form does not.
	got, err := KNNScores([][]float32{{1, 0}, {0, 1}}, []int32{0, 1}, [][]float32{{1, 0.1}}, 2, KNNConfig{K: 2, Temperature: 1e-3})
	if err != nil || math.IsNaN(got[0][0]) || got[0][0] < 0.999 {
		t.Errorf("tiny temperature: %v, %v; want class 0 ≈ 1", got, err)
	}
}

func TestKNNScoresRejects(t *testing.T) {
	tr := [][]float32{{1, 0}, {0, 1}}
	for name, f := range map[string]func() error{
		"no train":    func() error { _, err := KNNScores(nil, nil, tr, 2, DefaultKNNConfig()); return err },
		"label count": func() error { _, err := KNNScores(tr, []int32{0}, tr, 2, DefaultKNNConfig()); return err },
		"label range": func() error { _, err := KNNScores(tr, []int32{0, 2}, tr, 2, DefaultKNNConfig()); return err },
		"ragged query": func() error {
			_, err := KNNScores(tr, []int32{0, 1}, [][]float32{{1}}, 2, DefaultKNNConfig())
			return err
		},
		"negative k": func() error {
			_, err := KNNScores(tr, []int32{0, 1}, tr, 2, KNNConfig{K: -1, Temperature: 1})
			return err
		},
		"negative temp": func() error {
			_, err := KNNScores(tr, []int32{0, 1}, tr, 2, KNNConfig{K: 1, Temperature: -1})
			return err
		},
		"one class": func() error { _, err := KNNScores(tr, []int32{0, 0}, tr, 1, DefaultKNNConfig()); return err },
	} {
		if err := f(); err == nil || !strings.HasPrefix(err.Error(), "eval: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

// KNN on real features: k is chosen on validation AUC (checked against KNNScores for each
// k), and Predict on the test split returns probability rows.
func TestKNNChoosesKOnValidation(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	pre := pretrainedStore(t, ds)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	ks := []int{1, 5, 50}
	clf, err := KNN(backend, pre, enc, ds.Train, ds.Val, ds.NumClasses, DefaultKNNConfig(), ks...)
	if err != nil {
		t.Fatal(err)
	}
	trainF, err := models.Features(backend, pre, enc, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	valF, err := models.Features(backend, pre, enc, ds.Val)
	if err != nil {
		t.Fatal(err)
	}
	best, bestK := math.Inf(-1), 0
	for _, k := range ks {
		s, err := KNNScores(trainF, ds.Train.Labels, valF, 2, KNNConfig{K: k, Temperature: 0.07})
		if err != nil {
			t.Fatal(err)
		}
		auc, _ := metrics.AUC(ds.Val.IntLabels(), s)
		if auc > best {
			best, bestK = auc, k
		}
	}
	if clf.Config.K != bestK || clf.ValAUC != best {
		t.Errorf("chose k=%d (val AUC %v), want k=%d (%v)", clf.Config.K, clf.ValAUC, bestK, best)
	}
	m, err := clf.Evaluate(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if m.N != ds.Test.N || !(m.AUC > 0.6) {
		t.Errorf("test: %d images, AUC %v; want %d images and AUC > 0.6 from features of a trained encoder", m.N, m.AUC, ds.Test.N)
	}
}

// The search trains one probe per grid point on the same features and keeps the best
// validation AUC; the kept probe reproduces it.
func TestLinearProbeSearch(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	pre := pretrainedStore(t, ds)
	cfg := testConfig(4, 128, 2)
	cfg.Optimizer.LearningRate = 1e-2
	grid := Search{LRFactors: []float64{0.1, 10}, WeightDecays: []float64{0, 1e-3}}
	res, err := LinearProbeSearch(ds.Train, ds.Val, ds.NumClasses, pre, cfg, grid)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 4 || grid.Trials() != 4 {
		t.Fatalf("%d trials, want 4", len(res.Trials))
	}
	for i, want := range [][2]float64{{1e-3, 0}, {1e-3, 1e-3}, {1e-1, 0}, {1e-1, 1e-3}} {
		if tr := res.Trials[i]; math.Abs(tr.LearningRate-want[0]) > 1e-15 || tr.WeightDecay != want[1] {
			t.Errorf("trial %d: lr %g wd %g, want %g and %g", i, tr.LearningRate, tr.WeightDecay, want[0], want[1])
		}
	}
	best := math.Inf(-1)
	for _, tr := range res.Trials {
		best = math.Max(best, tr.BestValAUC)
	}
	if res.Best.Head.BestValAUC != best {
		t.Errorf("kept head's val AUC %v, best trial %v", res.Best.Head.BestValAUC, best)
	}
	if got := probeAUC(t, res.Best, ds.Val); math.Abs(got-best) > 1e-6 {
		t.Errorf("kept probe has val AUC %v, its trial %v", got, best)
	}
	// The lone probe with the chosen settings is the same probe (same seed, same features).
	c := cfg
	c.Optimizer.LearningRate, c.Optimizer.WeightDecay = res.LearningRate, res.WeightDecay
	alone, err := LinearProbe(ds.Train, ds.Val, ds.NumClasses, pre, c)
	if err != nil {
		t.Fatal(err)
	}
	if alone.Head.BestValAUC != best {
		t.Errorf("LinearProbe with lr %g wd %g: val AUC %v, search had %v", c.Optimizer.LearningRate, c.Optimizer.WeightDecay, alone.Head.BestValAUC, best)
	}
	if _, err := LinearProbeSearch(ds.Train, ds.Val, 2, pre, cfg, Search{LRFactors: []float64{-1}}); err == nil {
		t.Error("negative learning-rate factor accepted")
	}
	// A zero factor anywhere in the search is rejected before any probe trains.
	if _, err := LinearProbeSearch(ds.Train, ds.Val, 2, pre, cfg, Search{LRFactors: []float64{1, 0}}); err == nil {
		t.Error("learning-rate factor 0 accepted")
	}
}

// The supervised search trains every point and keeps the best validation AUC; the kept
// classifier is the one supervised.Train gives alone with the chosen learning rate.
func TestTrainSearch(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	cfg := testConfig(2, 128, 3)
	best, chosen, trials, err := TrainSearch(ds.Train, ds.Val, ds.NumClasses, cfg, DefaultSearch())
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 3 {
		t.Fatalf("%d trials, want 3", len(trials))
	}
	top := math.Inf(-1)
	for i, tr := range trials {
		if want := cfg.Optimizer.LearningRate * []float64{0.1, 1, 10}[i]; math.Abs(tr.LearningRate-want) > 1e-15 {
			t.Errorf("trial %d at lr %g, want %g", i, tr.LearningRate, want)
		}
		top = math.Max(top, tr.BestValAUC)
	}
	if best.BestValAUC != top {
		t.Errorf("kept val AUC %v, best trial %v", best.BestValAUC, top)
	}
	alone, err := supervised.Train(ds.Train, ds.Val, ds.NumClasses, chosen)
	if err != nil {
		t.Fatal(err)
	}
	if alone.BestValAUC != best.BestValAUC {
		t.Errorf("retraining at lr %g: val AUC %v, the search kept %v", chosen.Optimizer.LearningRate, alone.BestValAUC, best.BestValAUC)
	}
}

// A pretraining resumed from a finished checkpoint restores its variables lazily (GoMLX
// loads them when a graph first uses them); fine-tuning must still start from them.
func TestFineTuneFromCheckpointedPretraining(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 8}
	pcfg := ssl.DefaultPretrainConfig()
	pcfg.Backend, pcfg.Encoder, pcfg.Method = backend, enc, ssl.NewSimCLR()
	pcfg.Steps, pcfg.BatchSize, pcfg.Seed, pcfg.CheckpointDir = 2, 64, 1, t.TempDir()
	first, err := ssl.Pretrain(ds.Train, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	want := testutil.VariableValues(t, first.Store, "/"+models.EncoderScope)
	loaded, err := ssl.Pretrain(ds.Train, pcfg) // finished: nothing to train, only loads
	if err != nil {
		t.Fatal(err)
	}
	recipe := testConfig(1, 128, 1)
	recipe.Encoder = enc
	ft := DefaultFineTuneConfig()
	ft.Epochs, ft.EncoderLRMultiplier = 1, 0
	clf, err := FineTune(ds.Train, ds.Val, ds.NumClasses, loaded.Store, recipe, ft)
	if err != nil {
		t.Fatal(err)
	}
	got := testutil.VariableValues(t, clf.Store, "/"+models.EncoderScope)
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("fine-tuned encoder has %d variables, the checkpoint %d", len(got), len(want))
	}
	for p, w := range want {
		if !slices.Equal(got[p], w) {
			t.Errorf("%s does not start from the checkpoint (the frozen encoder must equal it)", p)
		}
	}
}

// The kNN monitor's last score during pretraining is the validation AUC KNN gives on the
// finished encoder's features: the online kNN is the offline one.
func TestKNNMonitorEqualsKNN(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 8}
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = backend, enc, ssl.NewSimCLR()
	cfg.Steps, cfg.BatchSize, cfg.Seed, cfg.MonitorSteps = 4, 64, 1, 2
	mon := KNNMonitor{Train: ds.Train, Val: ds.Val, Config: DefaultKNNConfig()}
	cfg.Monitors = []ssl.Monitor{mon}
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pre.Scores) != 2 || pre.Scores[0].Step != 2 || pre.Scores[1].Step != 4 || pre.Scores[1].Name != "kNN val AUC" {
		t.Fatalf("scores %+v, want two kNN val AUCs at steps 2 and 4", pre.Scores)
	}
	knn, err := KNN(backend, pre.Store, enc, ds.Train, ds.Val, ds.NumClasses, mon.Config)
	if err != nil {
		t.Fatal(err)
	}
	if got := pre.Scores[1].Value; got != knn.ValAUC {
		t.Errorf("monitor's last kNN val AUC %v, KNN on the final encoder %v", got, knn.ValAUC)
	}
}
