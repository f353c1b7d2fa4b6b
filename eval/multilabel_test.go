package eval

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// naiveKNNMulti is the multi-label vote written out: the k nearest training points
// (naiveNeighbours), each label's 0/1 values averaged with weights exp(sim/T).
func naiveKNNMulti(train [][]float32, labels [][]int32, q []float32, k int, temp float64, cosine bool) []float64 {
	idx, sims := naiveNeighbours(train, q, cosine)
	out := make([]float64, len(labels[0]))
	var total float64
	for _, i := range idx[:min(k, len(idx))] {
		w := math.Exp(sims[i] / temp)
		for l, y := range labels[i] {
			out[l] += w * float64(y)
		}
		total += w
	}
	for l := range out {
		out[l] /= total
	}
	return out
}

func TestKNNMultiLabelScoresMatchesNaive(t *testing.T) {
	// Hand case: query (1, 0); neighbours at 0° (labels 1,0), 45° (1,1), 90° (0,1), 180°
	// (0,0); k = 3, T = 1, cosine: weights e, e^{1/√2}, 1.
	train := [][]float32{{2, 0}, {1, 1}, {0, 3}, {-1, 0}}
	flat := []int32{1, 0, 1, 1, 0, 1, 0, 0}
	got, err := KNNMultiLabelScores(train, flat, [][]float32{{1, 0}}, 2, KNNConfig{K: 3, Temperature: 1, Distance: Cosine})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := math.E, math.Exp(1/math.Sqrt2), 1.0
	want := []float64{(a + b) / (a + b + c), (b + c) / (a + b + c)}
	for l := range want {
		if math.Abs(got[0][l]-want[l]) > 1e-12 {
			t.Errorf("hand case label %d: %v, want %v", l, got[0][l], want[l])
		}
	}
	// Random features, several k: Gaussian ones for the cosine distance; integer ones for
	// the Euclidean distance, whose exact ties (computed alike by both, integer sums) test
	// the tie-breaking by training index.
	rng := rand.New(rand.NewPCG(6, 6))
	for trial := range 40 {
		n, L, dim := 5+rng.IntN(40), 1+rng.IntN(5), 1+rng.IntN(4)
		cosine := trial%2 == 0
		feats := func(m int) [][]float32 {
			out := make([][]float32, m)
			for i := range out {
				out[i] = make([]float32, dim)
				for j := range out[i] {
					if cosine {
						out[i][j] = float32(rng.NormFloat64())
					} else {
						out[i][j] = float32(rng.IntN(5) - 2)
					}
				}
			}
			return out
		}
		trainF, queryF := feats(n), feats(7)
		rows := make([][]int32, n)
		var flat []int32
		for i := range rows {
			rows[i] = make([]int32, L)
			for l := range rows[i] {
				rows[i][l] = int32(rng.IntN(2))
			}
			flat = append(flat, rows[i]...)
		}
		cfg := KNNConfig{K: 1 + rng.IntN(n+3), Temperature: 0.05 + rng.Float64(), Distance: Euclidean}
		if cosine {
			cfg.Distance = Cosine
		}
		got, err := KNNMultiLabelScores(trainF, flat, queryF, L, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range queryF {
			want := naiveKNNMulti(trainF, rows, q, cfg.K, cfg.Temperature, cfg.Distance == Cosine)
			for l := range want {
				if math.Abs(got[qi][l]-want[l]) > 1e-9 {
					t.Fatalf("trial %d query %d label %d: %v, naive %v", trial, qi, l, got[qi][l], want[l])
				}
			}
		}
	}
	for name, tc := range map[string]struct {
		labels []int32
		L      int
	}{"label 2": {[]int32{1, 0, 2, 1, 0, 0, 0, 0}, 2}, "wrong count": {[]int32{1, 0, 1}, 2}} {
		if _, err := KNNMultiLabelScores(train, tc.labels, [][]float32{{1, 0}}, tc.L, DefaultKNNConfig()); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

// kNN on real chest X-rays with a randomly initialised encoder: multi-label scores [N, 14]
// that equal KNNMultiLabelScores on the features, k chosen on validation macro AUC, and
// finite multi-label metrics.
func TestKNNMultiLabelChestXray(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	store := RandomEncoder(3)
	ks := []int{1, 10, 40}
	clf, err := KNN(backend, store, enc, ds.Train, ds.Val, ds.NumClasses, DefaultKNNConfig(), ks...)
	if err != nil {
		t.Fatal(err)
	}
	if !clf.MultiLabel || clf.NumClasses != 14 {
		t.Fatalf("classifier multi-label %v with %d outputs", clf.MultiLabel, clf.NumClasses)
	}
	trainF, err := models.Features(backend, store, enc, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	valF, err := models.Features(backend, store, enc, ds.Val)
	if err != nil {
		t.Fatal(err)
	}
	best, bestK := math.Inf(-1), 0
	for _, k := range ks {
		s, err := KNNMultiLabelScores(trainF, ds.Train.Labels, valF, 14, KNNConfig{K: k, Temperature: 0.07})
		if err != nil {
			t.Fatal(err)
		}
		auc, _, _ := metrics.MultiLabelAUC(ds.Val.IntLabelRows(), s)
		if auc > best {
			best, bestK = auc, k
		}
	}
	if clf.Config.K != bestK || clf.ValAUC != best {
		t.Errorf("chose k=%d (val macro AUC %v), want k=%d (%v)", clf.Config.K, clf.ValAUC, bestK, best)
	}
	scores, err := clf.Predict(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if len(scores) != ds.Test.N || len(scores[0]) != 14 {
		t.Fatalf("scores %d x %d", len(scores), len(scores[0]))
	}
	m, err := clf.Evaluate(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if !m.MultiLabel || m.ScoredLabels == 0 || math.IsNaN(m.AUC) || math.IsNaN(m.ACC) {
		t.Errorf("test metrics: %+v", m)
	}
	t.Logf("kNN k=%d, val macro AUC %.3f, test macro AUC %.3f over %d findings", clf.Config.K, clf.ValAUC, m.AUC, m.ScoredLabels)

	// The monitor reads the same score from the same features.
	mon := KNNMonitor{Train: ds.Train, Val: ds.Val, Config: clf.Config}
	got, err := mon.Measure(func(s *data.Split) ([][]float32, error) { return models.Features(backend, store, enc, s) })
	if err != nil || got != clf.ValAUC {
		t.Errorf("monitor: %v, %v; want the kNN's val macro AUC %v", got, err, clf.ValAUC)
	}
}

// Every arm runs on the multi-label fixture: per-label test scores [N, 14] with the
// validation macro AUC of what was selected, and metrics through supervised.Score. The
// linear arm's probe is checked against its own validation predictions.
func TestRunArmMultiLabel(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
	pre := pretrainedStore(t, testutil.BreastMNIST(t)) // the small encoder takes any image size
	p := DefaultProtocols()
	p.Train, p.Probe = testConfig(2, 32, 1), testConfig(20, 64, 1)
	p.FineTune = FineTuneConfig{Epochs: 2, EncoderLRMultiplier: 1}
	p.Search, p.KNNKs = Search{}, nil
	in := ArmInput{Backend: medssl.MustBackend(), Encoder: testutil.SmallEncoder{Width: 16}, Pretrained: pre,
		Train: ds.Train, Val: ds.Val, Test: ds.Test, NumClasses: ds.NumClasses, Seed: 1}
	for _, arm := range Arms() {
		out, err := RunArm(arm, in, p)
		if err != nil {
			t.Fatalf("%s: %v", arm, err)
		}
		if !out.MultiLabel || len(out.TestScores) != ds.Test.N || len(out.TestScores[0]) != 14 || math.IsNaN(out.ValAUC) {
			t.Fatalf("%s: multi-label %v, scores %d x %d, val AUC %v", arm, out.MultiLabel, len(out.TestScores), len(out.TestScores[0]), out.ValAUC)
		}
		m, err := supervised.Score(ds.Test, out.TestScores)
		if err != nil || !m.MultiLabel || math.IsNaN(m.AUC) {
			t.Fatalf("%s: metrics %+v, %v", arm, m, err)
		}
		t.Logf("%s: val macro AUC %.3f, test macro AUC %.3f (%d findings), ACC %.3f, selected %v", arm, out.ValAUC, m.AUC, m.ScoredLabels, m.ACC, out.Selected)
	}
	probe, err := LinearProbe(ds.Train, ds.Val, 14, pre, func() supervised.Config {
		c := p.Probe
		c.Backend, c.Encoder = in.Backend, in.Encoder
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	val, err := probe.Predict(ds.Val)
	if err != nil {
		t.Fatal(err)
	}
	auc, _, _ := metrics.MultiLabelAUC(ds.Val.IntLabelRows(), metrics.FromFloat32(val))
	if !probe.Head.MultiLabel || math.Abs(auc-probe.Head.BestValAUC) > 1e-6 {
		t.Errorf("probe: multi-label %v, restored val macro AUC %v, best epoch's %v", probe.Head.MultiLabel, auc, probe.Head.BestValAUC)
	}
	// Splits of different kinds, or a label count other than NumClasses, are errors.
	bad := in
	bad.Test = testutil.BreastMNIST(t).Test
	if _, err := RunArm(ArmKNN, bad, p); err == nil || !strings.Contains(err.Error(), "labels per image") {
		t.Errorf("single-label test split with multi-label training: %v", err)
	}
	bad = in
	bad.NumClasses = 2
	if _, err := RunArm(ArmLinear, bad, p); err == nil || !strings.Contains(err.Error(), "numClasses is 2") {
		t.Errorf("NumClasses 2 for 14 labels: %v", err)
	}
}
