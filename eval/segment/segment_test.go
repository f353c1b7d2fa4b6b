package segment

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// naiveLosses computes cross-entropy and soft Dice loss on the host, term by term, from
// logits [B, H, W, K] and masks [B, H, W].
func naiveLosses(logits []float32, masks []int32, b, h, w, k int) (ce, dice float64) {
	inter, psum, ysum := make([]float64, k), make([]float64, k), make([]float64, k)
	n := b * h * w
	for px := range n {
		row := logits[px*k : (px+1)*k]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v) - mx)
		}
		y := int(masks[px])
		ce -= float64(row[y]) - mx - math.Log(z)
		for c := range k {
			p := math.Exp(float64(row[c])-mx) / z
			psum[c] += p
			if c == y {
				inter[c] += p
				ysum[c]++
			}
		}
	}
	ce /= float64(n)
	for c := 1; c < k; c++ {
		dice += (2*inter[c] + DiceSmooth) / (psum[c] + ysum[c] + DiceSmooth)
	}
	return ce, 1 - dice/float64(k-1)
}

// TestDiceCELossMatchesNaive on random logits with masks that hold every class, that lack
// class 2 (an empty mask for it), and that are all background.
func TestDiceCELossMatchesNaive(t *testing.T) {
	const b, h, w, k = 2, 4, 3, 3
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name   string
		maskOf func(i int) int32
	}{
		{"all classes", func(i int) int32 { return int32(rng.IntN(k)) }},
		{"class 2 empty", func(i int) int32 { return int32(rng.IntN(2)) }},
		{"all background", func(i int) int32 { return 0 }},
	} {
		logits := make([]float32, b*h*w*k)
		for i := range logits {
			logits[i] = float32(rng.NormFloat64() * 2)
		}
		masks := make([]int32, b*h*w)
		for i := range masks {
			masks[i] = tc.maskOf(i)
		}
		out, err := model.CallOnceN(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, in []*graph.Node) []*graph.Node {
			return []*graph.Node{CrossEntropyLoss(in[0], in[1]), SoftDiceLoss(in[0], in[1]), DiceCELoss(in[0], in[1], 0.7, 1.3)}
		}, tensors.FromFlatDataAndDimensions(logits, b, h, w, k), tensors.FromFlatDataAndDimensions(masks, b, h, w))
		if err != nil {
			t.Fatal(err)
		}
		ce, dice := naiveLosses(logits, masks, b, h, w, k)
		got := []float64{float64(tensors.ToScalar[float32](out[0])), float64(tensors.ToScalar[float32](out[1])), float64(tensors.ToScalar[float32](out[2]))}
		for i, want := range []float64{ce, dice, 1.3*ce + 0.7*dice} {
			if math.Abs(got[i]-want) > 1e-5*math.Max(1, math.Abs(want)) {
				t.Errorf("%s: loss %d = %v, naive %v", tc.name, i, got[i], want)
			}
		}
	}
	// A perfect prediction of masks lacking a class: that class's Dice is 1, the loss ~0.
	masks := []int32{0, 1, 1, 0}
	logits := make([]float32, 4*3)
	for i, m := range masks {
		logits[i*3+int(m)] = 40
	}
	out, err := model.CallOnce(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, l, m *graph.Node) *graph.Node {
		return SoftDiceLoss(l, m)
	}, tensors.FromFlatDataAndDimensions(logits, 1, 2, 2, 3), tensors.FromFlatDataAndDimensions(masks, 1, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	if v := tensors.ToScalar[float32](out); math.Abs(float64(v)) > 1e-5 {
		t.Errorf("perfect prediction with class 2 absent: Dice loss %v, want 0", v)
	}
}

// fixtureSplits cuts the hippocampus fixtures by volume (testutil.Hippocampus: 5 train,
// 1 val, 2 test) into 48×40 axial slices.
func fixtureSplits(t *testing.T) (train, val, test *seg.Slices) {
	t.Helper()
	sets := make([]*seg.Set, 3)
	sets[0], sets[1], sets[2] = testutil.Hippocampus(t)
	out := make([]*seg.Slices, 3)
	for i, set := range sets {
		var err error
		if out[i], err = set.Slices(seg.DefaultSliceConfig(48, 40)); err != nil {
			t.Fatal(err)
		}
	}
	return out[0], out[1], out[2]
}

func testEncoder() models.ResNetConfig {
	return models.ResNetConfig{Depth: 18, Stem: models.SmallImageStem, BaseWidth: 8}
}

func testConfig(steps int) Config {
	cfg := DefaultConfig()
	cfg.Backend, cfg.Encoder = medssl.MustBackend(), testEncoder()
	cfg.Steps, cfg.BatchSize, cfg.ValEvery, cfg.Seed = steps, 16, steps/3, 4
	cfg.Optimizer.Schedule.Milestones = nil // constant rate over a short run
	return cfg
}

// TestEvaluateConventions: a prediction equal to the truth scores Dice 1 and HD95 0 in
// every volume; an all-background prediction scores foreground Dice 0 with every
// foreground HD95 infinite, counted apart.
func TestEvaluateConventions(t *testing.T) {
	_, _, test := fixtureSplits(t)
	ev, err := Evaluate(test, slices.Clone(test.Masks))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Summary.MeanDice != 1 || ev.Summary.MeanHD95 != 0 || ev.Summary.MeanIoU != 1 || len(ev.Volumes) != 2 {
		t.Errorf("perfect prediction: %+v", ev.Summary)
	}
	ev, err = Evaluate(test, make([]uint8, len(test.Masks)))
	if err != nil {
		t.Fatal(err)
	}
	m := ev.Summary.Map()
	if m["dice"] != 0 || m["hd95_inf_1"] != 2 || m["hd95_inf_2"] != 2 || !math.IsNaN(m["hd95"]) {
		t.Errorf("empty prediction: %v", m)
	}
}

// TestTrainSelectsOnValidationDice trains a small U-Net on real hippocampus slices: the
// training loss falls, the kept weights are those of the best validation Dice (predicting
// the validation volumes with the returned model gives that Dice back), and the model
// beats an all-background prediction on the test volumes.
func TestTrainSelectsOnValidationDice(t *testing.T) {
	train, val, test := fixtureSplits(t)
	cfg := testConfig(60)
	m, err := Train(train, val, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("steps %v: val Dice %v, train loss %v; best step %d", m.ValSteps, m.ValDice, m.TrainLoss, m.BestStep)
	if len(m.ValDice) != 3 || m.ValSteps[2] != 60 {
		t.Fatalf("validated at %v, want steps 20, 40, 60", m.ValSteps)
	}
	if !(m.TrainLoss[2] < 0.8*m.TrainLoss[0]) {
		t.Errorf("training loss did not fall by 20%%: %v", m.TrainLoss)
	}
	if m.BestValDice != slices.Max(m.ValDice) || m.ValDice[slices.Index(m.ValSteps, m.BestStep)] != m.BestValDice {
		t.Errorf("best %v at step %d, curve %v", m.BestValDice, m.BestStep, m.ValDice)
	}
	again, err := m.valDice(val)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(again-m.BestValDice) > 1e-12 {
		t.Errorf("the returned model's validation Dice is %v, the selected step's %v: not the kept weights", again, m.BestValDice)
	}
	ev, err := m.Evaluate(test)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test: %v", ev.Summary.Map())
	if !(ev.Summary.MeanDice > 0.2) {
		t.Errorf("test Dice %v after 60 steps, want > 0.2 (an all-background prediction scores 0)", ev.Summary.MeanDice)
	}
}

// randomEncoderStore returns a store holding the encoder's variables only, as a pretrained
// encoder checkpoint does.
func randomEncoderStore(t *testing.T, s *seg.Slices) *model.Store {
	t.Helper()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(9))
	img := make([]float32, s.Height*s.Width)
	if _, err := model.CallOnce(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
		return testEncoder().Encode(scope.In(models.EncoderScope), x)
	}, tensors.FromFlatDataAndDimensions(img, 1, s.Height, s.Width, 1)); err != nil {
		t.Fatal(err)
	}
	return store
}

// TestFrozenArmKeepsEncoderAndFineTuneChangesIt: the frozen arm loads the pretrained
// encoder by name and leaves every one of its variables (batch-norm statistics included)
// as it was while the decoder trains; the fine-tuning arm starts from it and changes it.
func TestFrozenArmKeepsEncoderAndFineTuneChangesIt(t *testing.T) {
	train, val, test := fixtureSplits(t)
	pre := randomEncoderStore(t, train)
	before := testutil.VariableValues(t, pre, "/"+models.EncoderScope)
	cfg := testConfig(6)
	cfg.ValEvery = 3
	for _, arm := range []Arm{ArmFrozen, ArmFineTune} {
		out, err := RunArm(arm, ArmInput{Backend: cfg.Backend, Encoder: cfg.Encoder, Pretrained: pre, Train: train, Val: val, Test: test, Seed: 2}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.Metrics["hd95_1"]; !ok || out.Selected["steps"] != 6 || len(out.Test.Pred) != len(test.Masks) {
			t.Fatalf("%s: outcome %+v", arm, out)
		}
		// Re-train to look at the weights themselves.
		c := cfg
		c.Pretrained, c.FreezeEncoder = pre, arm == ArmFrozen
		m, err := Train(train, val, c)
		if err != nil {
			t.Fatal(err)
		}
		after := testutil.VariableValues(t, m.Store, "/"+models.EncoderScope)
		if len(after) != len(before) {
			t.Fatalf("%s: %d encoder variables after, %d before", arm, len(after), len(before))
		}
		changed := 0
		for p, v := range before {
			if !slices.Equal(v, after[p]) {
				changed++
			}
		}
		dec := testutil.VariableValues(t, m.Store, "/"+models.DecoderScope)
		t.Logf("%s: %d of %d encoder variables changed; %d decoder variables", arm, changed, len(before), len(dec))
		if arm == ArmFrozen && changed != 0 {
			t.Errorf("frozen arm changed %d encoder variables", changed)
		}
		if arm == ArmFineTune && changed < len(before)/2 {
			t.Errorf("fine-tuning changed only %d of %d encoder variables", changed, len(before))
		}
		if len(dec) == 0 {
			t.Errorf("%s: no decoder variables kept", arm)
		}
	}
	// Fine-tuning starts from the pretrained weights: at a negligible learning rate the
	// convolution weights stay theirs (a random start would not).
	c := cfg
	c.Pretrained, c.Optimizer.LearningRate = pre, 1e-12
	m, err := Train(train, val, c)
	if err != nil {
		t.Fatal(err)
	}
	after := testutil.VariableValues(t, m.Store, "/"+models.EncoderScope)
	weights := 0
	for p, v := range before {
		if !strings.HasSuffix(p, "/weights") {
			continue
		}
		weights++
		for i := range v {
			if math.Abs(float64(v[i]-after[p][i])) > 1e-6 {
				t.Fatalf("fine-tuning at lr 1e-12: %s[%d] = %v, pretrained %v", p, i, after[p][i], v[i])
			}
		}
	}
	if weights == 0 {
		t.Fatal("no convolution weights in the encoder")
	}
	if _, err := RunArm(ArmFineTune, ArmInput{Backend: cfg.Backend, Encoder: cfg.Encoder, Train: train, Val: val, Test: test}, cfg); err == nil || !strings.Contains(err.Error(), "pretrained") {
		t.Errorf("fine-tuning without a pretrained store: %v", err)
	}
	if _, err := RunArm("linear", ArmInput{Backend: cfg.Backend, Encoder: cfg.Encoder, Pretrained: pre, Train: train, Val: val, Test: test}, cfg); err == nil {
		t.Error("unknown arm: no error")
	}
	// A store of other variables is a mistake; an empty one is a random encoder.
	other := model.NewStore()
	if _, err := other.Scope("/other").CreateVariable("x", tensors.FromValue([]float32{1})); err != nil {
		t.Fatal(err)
	}
	c = cfg
	c.Pretrained = other
	if _, err := Train(train, val, c); err == nil || !strings.Contains(err.Error(), "no variables under /encoder") {
		t.Errorf("pretrained store without an encoder: %v", err)
	}
	random := model.NewStore()
	random.SetParam(model.ParamInitialSeed, int64(5))
	c.Pretrained, c.FreezeEncoder = random, true
	if _, err := Train(train, val, c); err != nil {
		t.Errorf("frozen random encoder (an empty store): %v", err)
	}
	if n := len(testutil.VariableValues(t, random, "/"+models.EncoderScope)); n != len(before) {
		t.Errorf("the empty store got %d encoder variables, want %d", n, len(before))
	}
}

// TestOverlay: the three panels show the grey image, the true mask and the prediction
// over it, pixel for pixel at the scale asked; the slices picked hold the most foreground
// of their case.
func TestOverlay(t *testing.T) {
	_, _, test := fixtureSplits(t)
	pred := make([]uint8, len(test.Masks)) // all background
	idx := OverlaySlices(test, 2)
	if len(idx) != 2 || idx[0] >= test.Stacks[0].First+test.Stacks[0].Count || idx[1] < test.Stacks[1].First {
		t.Fatalf("OverlaySlices = %v for stacks %+v, %+v", idx, test.Stacks[0].Name, test.Stacks[1].Name)
	}
	count := func(i int) (c int) {
		for _, v := range test.Mask(i) {
			if v > 0 {
				c++
			}
		}
		return c
	}
	for k := test.Stacks[0].First; k < test.Stacks[0].First+test.Stacks[0].Count; k++ {
		if count(k) > count(idx[0]) {
			t.Errorf("slice %d has more foreground than the picked %d", k, idx[0])
		}
	}
	img, err := Overlay(test, pred, idx[0], 2)
	if err != nil {
		t.Fatal(err)
	}
	w, h := test.Width*2, test.Height*2
	if b := img.Bounds(); b.Dx() != 3*w+4 || b.Dy() != h {
		t.Fatalf("overlay %v, want %dx%d", b, 3*w+4, h)
	}
	for y := range h {
		for x := range w {
			k := (y/2)*test.Width + x/2
			g := test.Image(idx[0])[k]
			plain, truth, p := img.RGBAAt(x, y), img.RGBAAt(w+2+x, y), img.RGBAAt(2*w+4+x, y)
			if plain.R != g || plain.G != g || plain.B != g || p != plain {
				t.Fatalf("pixel (%d, %d): image panel %v, prediction panel %v, grey %d", x, y, plain, p, g)
			}
			if (truth != plain) != (test.Mask(idx[0])[k] > 0) {
				t.Fatalf("pixel (%d, %d): truth panel %v, image %v, class %d", x, y, truth, plain, test.Mask(idx[0])[k])
			}
		}
	}
}

// A step budget is lengthened to MinEpochs epochs where that is more, so the largest label
// fraction is not cut short; a small fraction keeps its steps.
func TestTrainingSteps(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.Steps, cfg.MinEpochs = 16, 150, 5
	for _, c := range []struct{ slices, steps, perEpoch int }{
		{38, 150, 2},     // 1 volume: 2 batches per epoch, 150 steps are 75 epochs
		{212, 150, 13},   // 6 volumes: 150 steps are 11.5 epochs
		{1960, 610, 122}, // 56 volumes: 150 steps would be 1.2 epochs; 5 epochs are 610
		{10, 150, 1},     // fewer slices than a batch: one (smaller) batch per epoch
	} {
		steps, perEpoch := cfg.TrainingSteps(c.slices)
		if steps != c.steps || perEpoch != c.perEpoch {
			t.Errorf("%d slices: %d steps, %d per epoch; want %d, %d", c.slices, steps, perEpoch, c.steps, c.perEpoch)
		}
	}
	cfg.Steps, cfg.Epochs, cfg.MinEpochs = 0, 3, 0
	if steps, _ := cfg.TrainingSteps(1960); steps != 3*122 {
		t.Errorf("3 epochs of 1960 slices: %d steps, want %d", steps, 3*122)
	}
	cfg.Backend, cfg.Encoder = medssl.MustBackend(), models.ResNetFor(18, 28)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.MinEpochs = -1
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "MinEpochs -1") {
		t.Errorf("MinEpochs -1: error %v", err)
	}
}
