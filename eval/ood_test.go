package eval

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

func pneumonia(t *testing.T) *data.Dataset {
	t.Helper()
	ds, err := data.LoadMedMNIST(testdata.Path(t, "pneumoniamnist_imbalanced.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// naiveAUROC counts, over every (in, out) pair, how often the in-distribution score is
// higher, ties counting 1/2.
func naiveAUROC(in, out []float64) float64 {
	var wins float64
	for _, a := range in {
		for _, b := range out {
			switch {
			case a > b:
				wins++
			case a == b:
				wins += 0.5
			}
		}
	}
	return wins / float64(len(in)*len(out))
}

// naiveEnergy is T·log Σ_k exp(l_k/T), written out without the max shift (the probe's
// logits are small).
func naiveEnergy(row []float64, temp float64) float64 {
	var s float64
	for _, l := range row {
		s += math.Exp(l / temp)
	}
	return temp * math.Log(s)
}

func naiveMaxSoftmax(row []float64) float64 {
	var s, top float64
	for _, l := range row {
		s += math.Exp(l)
		top = max(top, math.Exp(l))
	}
	return top / s
}

func checkClose(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// BreastMNIST (ultrasound) against PneumoniaMNIST (chest X-ray): every reported number
// is recomputed here from the per-image scores, logits and features.
func TestDetectOODMatchesReferences(t *testing.T) {
	ds, pneu := testutil.BreastMNIST(t), pneumonia(t)
	pre := pretrainedStore(t, ds)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	cfg := oodConfig(5, 1e-2)
	cfg.Probe.Backend, cfg.Probe.Encoder = backend, enc
	cfg.Val, cfg.Temperature, cfg.TPR = ds.Val, 2, 0.9
	rep, err := DetectOOD(pre, ds.Train, ds.Test, pneu.Test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.InLogits) != ds.Test.N || len(rep.OutLogits) != pneu.Test.N || len(rep.InLogits[0]) != 2 {
		t.Fatalf("logits %dx%d and %d rows, want %dx2 and %d", len(rep.InLogits), len(rep.InLogits[0]), len(rep.OutLogits), ds.Test.N, pneu.Test.N)
	}
	if rep.OutConverted || rep.Temperature != 2 || rep.TPR != 0.9 {
		t.Errorf("converted %v, T %v, TPR %v; want false, 2, 0.9", rep.OutConverted, rep.Temperature, rep.TPR)
	}
	// The logits are the selected probe's: their softmax is Predict, Logits returns them.
	probs, err := rep.Probe.Predict(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := rep.Probe.Logits(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rep.InLogits {
		checkClose(t, "Logits", metrics.FromFloat32(logits[i : i+1])[0], row, 1e-6)
		e0, e1 := math.Exp(row[0]), math.Exp(row[1])
		checkClose(t, "softmax(InLogits)", []float64{e0 / (e0 + e1), e1 / (e0 + e1)}, metrics.FromFloat32(probs[i : i+1])[0], 1e-5)
	}
	if auc := probeAUC(t, rep.Probe, ds.Test); math.Abs(auc-rep.InTestAUC) > 1e-6 {
		t.Errorf("InTestAUC %v, probe's test AUC %v", rep.InTestAUC, auc)
	}
	// Scores from the logits, written out.
	for _, c := range []struct {
		s      OODScore
		logits [][]float64
		in     bool
	}{{rep.MaxSoftmax, rep.InLogits, true}, {rep.MaxSoftmax, rep.OutLogits, false},
		{rep.Energy, rep.InLogits, true}, {rep.Energy, rep.OutLogits, false}} {
		want := make([]float64, len(c.logits))
		for i, row := range c.logits {
			if c.s.Name == "energy" {
				want[i] = naiveEnergy(row, 2)
			} else {
				want[i] = naiveMaxSoftmax(row)
			}
		}
		got := c.s.Out
		if c.in {
			got = c.s.In
		}
		checkClose(t, c.s.Name, got, want, 1e-12)
	}
	// Mahalanobis on features recomputed here, fitted on the training split.
	fitFeats, err := models.Features(backend, pre, enc, ds.Train)
	if err != nil {
		t.Fatal(err)
	}
	maha, err := metrics.FitMahalanobis(metrics.FromFloat32(fitFeats), ds.Train.IntLabels())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		split *data.Split
		got   []float64
	}{{ds.Test, rep.Mahalanobis.In}, {pneu.Test, rep.Mahalanobis.Out}} {
		feats, err := models.Features(backend, pre, enc, c.split)
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "mahalanobis", c.got, maha.Score(metrics.FromFloat32(feats)), 1e-12)
	}
	// Metrics from the scores.
	for _, s := range rep.Scores() {
		auroc, err := metrics.OODAUROC(s.In, s.Out)
		if err != nil {
			t.Fatal(err)
		}
		fpr, err := metrics.FPRAtTPR(s.In, s.Out, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		if s.AUROC != auroc || s.FPR != fpr {
			t.Errorf("%s: AUROC %v FPR %v, recomputed %v %v", s.Name, s.AUROC, s.FPR, auroc, fpr)
		}
		if naive := naiveAUROC(s.In, s.Out); math.Abs(naive-s.AUROC) > 1e-12 {
			t.Errorf("%s: AUROC %v, pair count %v", s.Name, s.AUROC, naive)
		}
		t.Logf("%-12s AUROC %.4f  FPR@90%%TPR %.4f", s.Name, s.AUROC, s.FPR)
	}
	t.Logf("probe lr %g, epoch %d, in-distribution test AUC %.4f", rep.LearningRate, rep.Probe.Head.BestEpoch, rep.InTestAUC)
	// Ultrasound against chest X-rays is far out of distribution.
	if rep.Mahalanobis.AUROC < 0.9 {
		t.Errorf("Mahalanobis AUROC %v on BreastMNIST vs PneumoniaMNIST, want >= 0.9", rep.Mahalanobis.AUROC)
	}
}

// Without a validation split the last epoch's probe is used (no selection), the energy
// temperature defaults to 1, and RGB OOD images are converted to the fit split's
// grayscale: replicated gray images score exactly as the originals.
func TestDetectOODWithoutValidationAndRGB(t *testing.T) {
	ds, pneu := testutil.BreastMNIST(t), pneumonia(t)
	pre := model.NewStore() // a randomly initialised encoder
	pre.SetParam(model.ParamInitialSeed, int64(5))
	cfg := oodConfig(3, 1e-2)
	out := pneu.Test.Subset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 400, 401, 402, 403, 404, 405, 406, 407})
	gray, err := DetectOOD(pre, ds.Train, ds.Test, out, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if gray.Temperature != 1 || gray.TPR != 0.95 {
		t.Errorf("DefaultOODConfig: T %v TPR %v, want 1 and 0.95", gray.Temperature, gray.TPR)
	}
	if h := gray.Probe.Head; len(h.ValAUC) != 3 || h.Final != nil {
		t.Errorf("probe history %v, Final %v: want 3 epochs and the last epoch's probe itself", h.ValAUC, h.Final)
	}
	for i, row := range gray.OutLogits {
		if got, want := gray.Energy.Out[i], naiveEnergy(row, 1); math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
			t.Fatalf("energy[%d] = %v, log-sum-exp %v", i, got, want)
		}
	}
	rgb := *out
	rgb.Channels = 3
	rgb.Images = make([]uint8, 0, 3*len(out.Images))
	for _, v := range out.Images {
		rgb.Images = append(rgb.Images, v, v, v)
	}
	conv, err := DetectOOD(pre, ds.Train, ds.Test, &rgb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !conv.OutConverted {
		t.Error("RGB OOD split not reported as converted")
	}
	for i, s := range conv.Scores() {
		if g := gray.Scores()[i]; !slices.Equal(s.Out, g.Out) || s.AUROC != g.AUROC {
			t.Errorf("%s: RGB copies score %v (AUROC %v), gray originals %v (AUROC %v)", s.Name, s.Out[:3], s.AUROC, g.Out[:3], g.AUROC)
		}
	}
}

// oodConfig is DefaultOODConfig with a short probe on the small test encoder.
func oodConfig(epochs int, lr float64) OODConfig {
	cfg := DefaultOODConfig()
	cfg.Probe.Backend, cfg.Probe.Encoder = medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	cfg.Probe.Epochs, cfg.Probe.Optimizer.LearningRate, cfg.Probe.Seed = epochs, lr, 1
	return cfg
}

func TestConvertChannels(t *testing.T) {
	rgb := &data.Split{N: 2, Height: 1, Width: 2, Channels: 3, Labels: []int32{0, 1}, LabelDim: 1,
		Images: []uint8{255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30}}
	gray, err := data.ConvertChannels(rgb, 1)
	if err != nil {
		t.Fatal(err)
	}
	// round(0.299·255) = 76, round(0.587·255) = 150, round(0.114·255) = 29,
	// round(0.299·10 + 0.587·20 + 0.114·30) = round(18.15) = 18.
	if want := []uint8{76, 150, 29, 18}; gray.Channels != 1 || !slices.Equal(gray.Images, want) {
		t.Errorf("RGB→gray %v (%d channels), want %v", gray.Images, gray.Channels, want)
	}
	back, err := data.ConvertChannels(gray, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{76, 76, 76, 150, 150, 150, 29, 29, 29, 18, 18, 18}; !slices.Equal(back.Images, want) {
		t.Errorf("gray→RGB %v, want %v", back.Images, want)
	}
	if rgb.Channels != 3 || rgb.Images[0] != 255 {
		t.Error("the input split was modified")
	}
	two := &data.Split{N: 1, Height: 1, Width: 1, Channels: 2, Images: []uint8{1, 2}}
	if _, err := data.ConvertChannels(two, 1); err == nil {
		t.Error("2-channel images converted")
	}
}

func TestDetectOODBadInputs(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	backend, enc := medssl.MustBackend(), testutil.SmallEncoder{Width: 16}
	pre := model.NewStore()
	ok := oodConfig(1, 1e-3)
	ok.Probe.Backend, ok.Probe.Encoder = backend, enc
	big := &data.Split{N: 1, Height: 32, Width: 32, Channels: 1, Images: make([]uint8, 32*32), Labels: []int32{0}, LabelDim: 1, NumClasses: 2}
	two := &data.Split{N: 1, Height: 28, Width: 28, Channels: 2, Images: make([]uint8, 28*28*2), Labels: []int32{0}, LabelDim: 1, NumClasses: 2}
	multi := *ds.Train
	multi.LabelDim, multi.Labels = 2, append(slices.Clone(ds.Train.Labels), ds.Train.Labels...)
	withCfg := func(f func(*OODConfig)) OODConfig { c := ok; f(&c); return c }
	for _, c := range []struct {
		name               string
		pre                *model.Store
		fit, inTest, outTs *data.Split
		cfg                OODConfig
		want               string
	}{
		{"nil store", nil, ds.Train, ds.Test, ds.Test, ok, "pretrained store"},
		{"no backend", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.Probe.Backend = nil }), "Backend"},
		{"nil fit", pre, nil, ds.Test, ds.Test, ok, "empty fit"},
		{"nil OOD", pre, ds.Train, ds.Test, nil, ok, "empty OOD"},
		{"empty in-test", pre, ds.Train, ds.Test.Subset(nil), ds.Test, ok, "empty in-distribution test"},
		{"size", pre, ds.Train, ds.Test, big, ok, "32x32"},
		{"channels", pre, ds.Train, ds.Test, two, ok, "2-channel"},
		{"val size", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.Val = big }), "validation images"},
		{"multi-label fit", pre, &multi, ds.Test, ds.Test, ok, "multi-label"},
		{"temperature", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.Temperature = -1 }), "temperature"},
		{"infinite temperature", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.Temperature = math.Inf(1) }), "temperature"},
		{"TPR", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.TPR = 1.5 }), "TPR"},
		{"grid without val", pre, ds.Train, ds.Test, ds.Test, withCfg(func(c *OODConfig) { c.Search = DefaultSearch() }), "validation split"},
	} {
		_, err := DetectOOD(c.pre, c.fit, c.inTest, c.outTs, c.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), "eval: ") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}
