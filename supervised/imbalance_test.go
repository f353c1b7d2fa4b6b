package supervised

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
)

// naiveLoss writes the remedy's loss out: per example −w_y·(1−p_y)^γ·log p_y with p the
// softmax, summed and divided by the sum of the examples' weights.
func naiveLoss(logits [][]float64, labels []int32, weights []float64, gamma float64) float64 {
	var num, den float64
	for i, row := range logits {
		top := math.Inf(-1)
		for _, v := range row {
			top = math.Max(top, v)
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - top)
		}
		p := math.Exp(row[labels[i]]-top) / z
		w := 1.0
		if weights != nil {
			w = weights[labels[i]]
		}
		num += w * math.Pow(1-p, gamma) * -math.Log(p)
		den += w
	}
	return num / den
}

// The weighted and focal losses equal their written-out definitions, on a batch in which
// class 2 of 3 is absent (its weight must not enter the normalisation).
func TestRemedyLossesMatchNaive(t *testing.T) {
	logits := [][]float64{{2, -1, 0.5}, {0.1, 0.2, -3}, {-1, 3, 0}, {1.5, 1.5, 0}, {0, -2, 4}}
	labels := []int32{0, 1, 1, 0, 0} // class 2 absent
	counts := []int{30, 10, 2}       // the training split's
	inv := ClassWeights(InverseFrequency, 0, counts)
	eff := ClassWeights(EffectiveNumber, 0.99, counts)
	// Written out: n/(K·n_c) and (1−β)/(1−β^n_c) normalised to sum to K.
	wantInv := []float64{42.0 / 90, 42.0 / 30, 42.0 / 6}
	raw := []float64{0.01 / (1 - math.Pow(0.99, 30)), 0.01 / (1 - math.Pow(0.99, 10)), 0.01 / (1 - math.Pow(0.99, 2))}
	s := raw[0] + raw[1] + raw[2]
	wantEff := []float64{3 * raw[0] / s, 3 * raw[1] / s, 3 * raw[2] / s}
	for c := range counts {
		if math.Abs(inv[c]-wantInv[c]) > 1e-12 || math.Abs(eff[c]-wantEff[c]) > 1e-12 {
			t.Errorf("class %d weights: inverse %v (want %v), effective %v (want %v)", c, inv[c], wantInv[c], eff[c], wantEff[c])
		}
	}
	if w := ClassWeights(InverseFrequency, 0, []int{5, 0, 5}); w[1] != 0 || w[0] != 1 || w[2] != 1 {
		t.Errorf("a class without examples: weights %v, want [1 0 1]", w)
	}
	exec, err := model.NewExec(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, x, y *graph.Node) []*graph.Node {
		return []*graph.Node{lossNode(x, y, nil, 0), lossNode(x, y, inv, 0), lossNode(x, y, eff, 0),
			lossNode(x, y, nil, 2), lossNode(x, y, inv, 2)}
	})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 0, 15)
	for _, row := range logits {
		for _, v := range row {
			x = append(x, float32(v))
		}
	}
	out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 5, 3), tensors.FromFlatDataAndDimensions(labels, 5))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{naiveLoss(logits, labels, nil, 0), naiveLoss(logits, labels, inv, 0), naiveLoss(logits, labels, eff, 0),
		naiveLoss(logits, labels, nil, 2), naiveLoss(logits, labels, inv, 2)}
	for i, name := range []string{"cross-entropy", "inverse-weighted", "effective-weighted", "focal", "focal inverse-weighted"} {
		got := float64(out[i].Value().(float32))
		if math.Abs(got-want[i]) > 1e-5*(1+want[i]) {
			t.Errorf("%s: %v, want %v", name, got, want[i])
		}
	}
	for _, bad := range []Remedy{{Weighting: "sqrt"}, {Weighting: EffectiveNumber, Beta: 1}, {FocalGamma: -1}} {
		if bad.Validate() == nil {
			t.Errorf("remedy %+v accepted", bad)
		}
	}
	for _, name := range RemedyNames() {
		if r, err := RemedyByName(name); err != nil || r.Validate() != nil {
			t.Errorf("remedy %q: %v", name, err)
		}
	}
}

// Every remedy trains end to end on real, imbalanced data (BreastMNIST's 147:399) and the
// weighted ones raise the minority class's recall over plain cross-entropy's at the same
// budget: a check that the weights reach the loss, not a claim about which is best.
func TestRemediesTrain(t *testing.T) {
	ds := testutil.BreastMNIST(t)
	recall := map[string]float64{}
	for _, name := range RemedyNames() {
		cfg := testConfig(3, 64, 2)
		r, _ := RemedyByName(name)
		cfg.Remedy = r
		clf, err := Train(ds.Train, ds.Val, ds.NumClasses, cfg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, err := clf.Evaluate(ds.Test)
		if err != nil {
			t.Fatal(err)
		}
		recall[name] = m.Sensitivity[0]
	}
	t.Logf("malignant recall per remedy: %v", recall)
	if !(recall[RemedyWeighted] > recall[RemedyNone]) && !(recall[RemedyOversample] > recall[RemedyNone]) {
		t.Errorf("neither class weights nor oversampling raised the minority recall over plain cross-entropy: %v", recall)
	}
}
