package supervised

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/loss"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/testutil"
)

// naiveBCE writes MultiLabelLoss out with the probabilities themselves:
// −[w·y·q^γ·log p + (1−y)·p^γ·log q], p = 1/(1+e^−x), q = 1 − p computed as 1/(1+e^x)
// (1 − p in float64 would lose q's digits at x = 30), averaged over all pairs.
func naiveBCE(logits [][]float64, labels [][]float64, w []float64, gamma float64) float64 {
	var sum float64
	n := 0
	for i, row := range logits {
		for l, x := range row {
			p, q := 1/(1+math.Exp(-x)), 1/(1+math.Exp(x))
			wl := 1.0
			if w != nil {
				wl = w[l]
			}
			y := labels[i][l]
			sum += -(wl*y*math.Pow(q, gamma)*math.Log(p) + (1-y)*math.Pow(p, gamma)*math.Log(q))
			n++
		}
	}
	return sum / float64(n)
}

// lossExec evaluates MultiLabelLoss (and GoMLX's own BinaryCrossentropyLogits) on float32
// logits and labels [B, L].
func lossExec(t *testing.T, logits, labels [][]float64, w []float64, gamma float64) (ours, gomlx float64) {
	t.Helper()
	exec, err := model.NewExec(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, x, y *graph.Node) []*graph.Node {
		return []*graph.Node{MultiLabelLoss(x, y, w, gamma), loss.BinaryCrossentropyLogits([]*graph.Node{y}, []*graph.Node{x})}
	})
	if err != nil {
		t.Fatal(err)
	}
	var xs, ys []float32
	for i := range logits {
		for l := range logits[i] {
			xs, ys = append(xs, float32(logits[i][l])), append(ys, float32(labels[i][l]))
		}
	}
	b, L := len(logits), len(logits[0])
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(xs, b, L), tensors.FromFlatDataAndDimensions(ys, b, L))
	if err != nil {
		t.Fatal(err)
	}
	return float64(out[0].Value().(float32)), float64(out[1].Value().(float32))
}

// The multi-label loss equals its written-out definition (plain, positive-weighted, focal,
// both) on logits up to ±30, equals GoMLX's own binary cross-entropy when unweighted, and
// stays finite and exact where the naive form overflows (logits ±1000).
func TestMultiLabelLossMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	logits := make([][]float64, 6)
	labels := make([][]float64, 6)
	for i := range logits {
		logits[i], labels[i] = make([]float64, 4), make([]float64, 4)
		for l := range logits[i] {
			logits[i][l] = (rng.Float64() - 0.5) * 8
			if rng.IntN(3) == 0 {
				labels[i][l] = 1
			}
		}
	}
	logits[0][0], logits[1][1], logits[2][2] = 30, -30, 0
	labels[0][0], labels[1][1] = 0, 1 // confidently wrong: large but finite losses
	// Positives per label 1, 2, 0, 6 of 6: weights 5, 2, and 1 for the two degenerate ones.
	w := PositiveWeights([]int{1, 2, 0, 6}, 6)
	if w[0] != 5 || w[1] != 2 || w[2] != 1 || w[3] != 1 {
		t.Fatalf("PositiveWeights = %v, want [5 2 1 1]", w)
	}
	for _, tc := range []struct {
		name  string
		w     []float64
		gamma float64
	}{{"bce", nil, 0}, {"weighted", w, 0}, {"focal", nil, 2}, {"weighted focal", w, 2}, {"focal 0.5", nil, 0.5}} {
		got, gomlx := lossExec(t, logits, labels, tc.w, tc.gamma)
		want := naiveBCE(logits, labels, tc.w, tc.gamma)
		if math.Abs(got-want) > 1e-5*(1+want) {
			t.Errorf("%s: %v, naive %v", tc.name, got, want)
		}
		if tc.w == nil && tc.gamma == 0 && math.Abs(got-gomlx) > 1e-5*(1+want) {
			t.Errorf("bce %v, GoMLX's BinaryCrossentropyLogits %v", got, gomlx)
		}
	}
	// Logits of ±1000: −log σ(−1000) = 1000 exactly in float32; σ itself would round to 0.
	extreme := [][]float64{{1000, -1000}, {-1000, 1000}}
	ys := [][]float64{{0, 1}, {0, 1}}
	got, _ := lossExec(t, extreme, ys, nil, 0)
	if want := (1000.0 + 1000 + 0 + 0) / 4; got != want {
		t.Errorf("extreme logits: %v, want %v", got, want)
	}
	if got, _ := lossExec(t, extreme, ys, nil, 2); math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-500) > 1e-3 {
		t.Errorf("extreme logits, focal: %v, want 500 ((1−p)^2 = 1 for the wrong ones)", got)
	}
}

// chestConfig is a short recipe on the small encoder for the 64x64 ChestX-ray14 fixture.
func chestConfig(epochs int, seed int64) Config {
	cfg := testConfig(epochs, 32, seed)
	cfg.Optimizer.LearningRate = 3e-3
	return cfg
}

// Multi-label training on real chest X-rays: the loss falls, outputs are [N, 14] sigmoids
// (not a softmax), the kept epoch's validation macro AUC is what the restored classifier
// gives, and the test metrics are finite.
func TestTrainMultiLabelChestXray(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
	clf, err := Train(ds.Train, ds.Val, ds.NumClasses, chestConfig(5, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !clf.MultiLabel || clf.NumClasses != 14 {
		t.Fatalf("classifier multi-label %v with %d outputs", clf.MultiLabel, clf.NumClasses)
	}
	if n := len(clf.TrainLoss); n != 5 || !(clf.TrainLoss[n-1] < clf.TrainLoss[0]) {
		t.Errorf("training loss per epoch %v did not fall", clf.TrainLoss)
	}
	probs, err := clf.Predict(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	logits, err := clf.Logits(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != ds.Test.N || len(probs[0]) != 14 {
		t.Fatalf("Predict gives %d x %d, want %d x 14", len(probs), len(probs[0]), ds.Test.N)
	}
	sumsToOne := true
	for i, row := range probs {
		var sum float64
		for l, p := range row {
			if want := 1 / (1 + math.Exp(-float64(logits[i][l]))); math.Abs(float64(p)-want) > 1e-6 {
				t.Fatalf("prob[%d][%d] = %v, sigmoid of its logit %v", i, l, p, want)
			}
			sum += float64(p)
		}
		sumsToOne = sumsToOne && math.Abs(sum-1) < 1e-3
	}
	if sumsToOne {
		t.Error("every row sums to 1: a softmax, not per-label sigmoids")
	}
	val, err := clf.Predict(ds.Val)
	if err != nil {
		t.Fatal(err)
	}
	auc, scored, err := metrics.MultiLabelAUC(ds.Val.IntLabelRows(), metrics.FromFloat32(val))
	if err != nil || math.Abs(auc-clf.BestValAUC) > 1e-6 || clf.ValAUC[clf.BestEpoch-1] != clf.BestValAUC {
		t.Errorf("restored val macro AUC %v (%d labels, %v), best epoch %d recorded %v", auc, scored, err, clf.BestEpoch, clf.BestValAUC)
	}
	m, err := clf.Evaluate(ds.Test)
	if err != nil {
		t.Fatal(err)
	}
	if !m.MultiLabel || m.ScoredLabels == 0 || math.IsNaN(m.AUC) || math.IsNaN(m.ACC) || math.IsNaN(m.AP) || len(m.LabelAUC) != 14 {
		t.Errorf("test metrics %+v", m)
	}
	t.Logf("loss %v, val macro AUC per epoch %v; test AUC %.3f over %d findings, ACC %.3f", clf.TrainLoss, clf.ValAUC, m.AUC, m.ScoredLabels, m.ACC)
}

// The multi-label remedies: weighted and focal train; effective-number weights and
// resampling are clear errors.
func TestMultiLabelRemedies(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
	for _, name := range []string{RemedyWeighted, RemedyFocal} {
		cfg := chestConfig(1, 2)
		cfg.Remedy, _ = RemedyByName(name)
		if _, err := Train(ds.Train, ds.Val, 14, cfg); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{RemedyEffective, RemedyOversample} {
		cfg := chestConfig(1, 2)
		cfg.Remedy, _ = RemedyByName(name)
		if _, err := Train(ds.Train, ds.Val, 14, cfg); err == nil || !strings.Contains(err.Error(), "multi-label") {
			t.Errorf("%s on multi-label data: %v, want an error saying why", name, err)
		}
	}
}

// Bad multi-label input is an error naming the split: labels other than 0/1, a label
// count that disagrees with numClasses or between splits, a validation split without a
// scorable label.
func TestTrainMultiLabelRejectsBadInput(t *testing.T) {
	_, ds := testutil.ChestXray14(t)
	cfg := chestConfig(1, 1)
	bad := *ds.Train
	bad.Labels = append([]int32(nil), ds.Train.Labels...)
	bad.Labels[20] = 2
	if _, err := Train(&bad, ds.Val, 14, cfg); !errors.Is(err, data.ErrLabel) || !strings.Contains(err.Error(), `training split: data: split "train": example 1 label 6 is 2`) {
		t.Errorf("label 2: %v", err)
	}
	if _, err := Train(ds.Train, ds.Val, 13, cfg); err == nil || !strings.Contains(err.Error(), `split "train" has 14 labels per image, numClasses is 13`) {
		t.Errorf("13 classes for 14 labels: %v", err)
	}
	if _, err := Train(ds.Train, testutil.BreastMNIST(t).Val, 14, cfg); err == nil || !strings.Contains(err.Error(), "labels per image") {
		t.Errorf("single-label validation split: %v", err)
	}
	empty := ds.Val.Subset([]int{0, 1})
	for i := range empty.Labels {
		empty.Labels[i] = 0
	}
	if _, err := Train(ds.Train, empty, 14, cfg); err == nil || !strings.Contains(err.Error(), "no label with both positive and negative") {
		t.Errorf("unscorable validation split: %v", err)
	}
}

// A multi-label linear classifier on features learns a known linear rule, returns
// sigmoids of its logits, and rejects labels that are not 0/1.
func TestTrainLinearMultiLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	const dim, L = 6, 3
	w := [L][dim]float64{}
	for l := range w {
		for j := range w[l] {
			w[l][j] = rng.NormFloat64()
		}
	}
	make := func(n int) ([][]float32, []int32) {
		feats := make([][]float32, n)
		var labels []int32
		for i := range feats {
			feats[i] = make([]float32, dim)
			for j := range feats[i] {
				feats[i][j] = float32(rng.NormFloat64())
			}
			for l := range L {
				var z float64
				for j := range dim {
					z += w[l][j] * float64(feats[i][j])
				}
				if z+0.3*rng.NormFloat64() > 0.8 { // imbalanced labels
					labels = append(labels, 1)
				} else {
					labels = append(labels, 0)
				}
			}
		}
		return feats, labels
	}
	trainF, trainL := make(400)
	valF, valL := make(200)
	cfg := testConfig(30, 64, 3)
	cfg.Optimizer.LearningRate = 3e-2
	clf, err := TrainLinearMultiLabel(trainF, trainL, valF, valL, L, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if clf.BestValAUC < 0.95 {
		t.Errorf("validation macro AUC %v on a linear rule, want > 0.95", clf.BestValAUC)
	}
	probs, _ := clf.PredictFeatures(valF)
	logits, _ := clf.LogitsFeatures(valF)
	for i := range probs {
		for l := range probs[i] {
			if want := 1 / (1 + math.Exp(-float64(logits[i][l]))); math.Abs(float64(probs[i][l])-want) > 1e-6 {
				t.Fatalf("prob[%d][%d] = %v, sigmoid %v", i, l, probs[i][l], want)
			}
		}
	}
	trainL[5] = 3
	if _, err := TrainLinearMultiLabel(trainF, trainL, valF, valL, L, cfg); err == nil || !strings.Contains(err.Error(), "training example 1 label 2 is 3") {
		t.Errorf("label 3: %v", err)
	}
	if _, err := TrainLinearMultiLabel(trainF, trainL[:10], valF, valL, L, cfg); err == nil || !strings.Contains(err.Error(), "want 3 per example") {
		t.Errorf("short labels: %v", err)
	}
}
