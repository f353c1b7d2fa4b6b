package metrics

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// naiveMultiLabel writes every multi-label metric out from its definition: per label the
// pair-count AUC and the O(n²) AP of the single-label tests, decisions counted one by
// one, and the macros as plain means over the labels with both classes present.
type naiveML struct {
	auc, ap, sens, spec       []float64
	acc, mAUC, mAP, bacc, mF1 float64
	scored                    int
}

func naiveMultiLabel(labels [][]int, scores [][]float64) naiveML {
	n, l := len(labels), len(labels[0])
	var out naiveML
	right := 0
	var sAUC, sAP, sBACC, sF1 float64
	for k := range l {
		col := make([]float64, n)
		pos := make([]bool, n)
		var tp, fp, fn, tn, np int
		for i := range n {
			col[i], pos[i] = scores[i][k], labels[i][k] == 1
			pred := scores[i][k] > 0.5
			if pred == pos[i] {
				right++
			}
			switch {
			case pos[i] && pred:
				tp++
			case pos[i]:
				fn++
			case pred:
				fp++
			default:
				tn++
			}
			if pos[i] {
				np++
			}
		}
		auc, ap := math.NaN(), math.NaN()
		if np > 0 && np < n {
			auc = naiveAUC(col, pos)
		}
		if np > 0 {
			ap = naiveAP(col, pos)
		}
		sens, spec := math.NaN(), math.NaN()
		if tp+fn > 0 {
			sens = float64(tp) / float64(tp+fn)
		}
		if tn+fp > 0 {
			spec = float64(tn) / float64(tn+fp)
		}
		out.auc, out.ap = append(out.auc, auc), append(out.ap, ap)
		out.sens, out.spec = append(out.sens, sens), append(out.spec, spec)
		if np > 0 && np < n {
			out.scored++
			sAUC += auc
			sAP += ap
			sBACC += (sens + spec) / 2
			sF1 += 2 * float64(tp) / float64(2*tp+fp+fn)
		}
	}
	out.acc = float64(right) / float64(n*l)
	s := float64(out.scored)
	out.mAUC, out.mAP, out.bacc, out.mF1 = sAUC/s, sAP/s, sBACC/s, sF1/s // 0/0 = NaN when none is scored
	return out
}

// same reports whether a and b agree within tol, NaN matching NaN only.
func same(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func checkML(t *testing.T, name string, m Metrics, want naiveML, tol float64) {
	t.Helper()
	if !m.MultiLabel || m.Classes != len(want.auc) {
		t.Fatalf("%s: MultiLabel %v, Classes %d; want true, %d", name, m.MultiLabel, m.Classes, len(want.auc))
	}
	for k := range want.auc {
		for what, pair := range map[string][2]float64{
			"AUC": {m.LabelAUC[k], want.auc[k]}, "AP": {m.LabelAP[k], want.ap[k]},
			"sensitivity": {m.Sensitivity[k], want.sens[k]}, "specificity": {m.Specificity[k], want.spec[k]},
		} {
			if !same(pair[0], pair[1], tol) {
				t.Errorf("%s: label %d %s = %v, want %v", name, k, what, pair[0], pair[1])
			}
		}
	}
	for what, pair := range map[string][2]float64{
		"AUC": {m.AUC, want.mAUC}, "AP": {m.AP, want.mAP}, "ACC": {m.ACC, want.acc},
		"balanced ACC": {m.BalancedACC, want.bacc}, "macro F1": {m.MacroF1, want.mF1},
	} {
		if !same(pair[0], pair[1], tol) {
			t.Errorf("%s: %s = %v, want %v", name, what, pair[0], pair[1])
		}
	}
	if m.ScoredLabels != want.scored {
		t.Errorf("%s: %d scored labels, want %d", name, m.ScoredLabels, want.scored)
	}
}

// A hand-worked case: label 2 is absent, so the macros run over labels 0 and 1.
func TestMultiLabelHandCase(t *testing.T) {
	labels := [][]int{{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {0, 0, 0}}
	scores := [][]float64{{0.9, 0.2, 0.1}, {0.4, 0.6, 0.5}, {0.6, 0.4, 0.7}, {0.3, 0.5, 0.2}}
	m, err := ComputeMultiLabel(labels, scores)
	if err != nil {
		t.Fatal(err)
	}
	nan := math.NaN()
	// Label 0 separates perfectly; label 1: pos {0.6, 0.4} vs neg {0.2, 0.5} wins 3 of 4
	// pairs, AP = 1/2·1 + 1/2·2/3. Decisions (> 0.5; 0.5 itself is "absent"): label 0 all
	// right, label 1 misses example 2, label 2 has one false positive (0.7).
	want := naiveML{
		auc: []float64{1, 0.75, nan}, ap: []float64{1, 5.0 / 6, nan},
		sens: []float64{1, 0.5, nan}, spec: []float64{1, 1, 0.75},
		acc: (1 + 0.75 + 0.75) / 3, mAUC: 0.875, mAP: (1 + 5.0/6) / 2,
		bacc: (1 + 0.75) / 2, mF1: (1 + 2.0/3) / 2, scored: 2,
	}
	checkML(t, "hand", m, want, 1e-15)
	checkML(t, "naive on hand", m, naiveMultiLabel(labels, scores), 1e-15)

	auc, scored, err := MultiLabelAUC(labels, scores)
	if err != nil || auc != m.AUC || scored != 2 {
		t.Errorf("MultiLabelAUC = %v, %d, %v; want %v, 2", auc, scored, err, m.AUC)
	}
	ap, scored, err := MultiLabelAP(labels, scores)
	if err != nil || ap != m.AP || scored != 2 {
		t.Errorf("MultiLabelAP = %v, %d, %v; want %v, 2", ap, scored, err, m.AP)
	}
	if acc, err := MultiLabelACC(labels, scores); err != nil || acc != m.ACC {
		t.Errorf("MultiLabelACC = %v, %v; want %v", acc, err, m.ACC)
	}
	mp := m.Map()
	for key, v := range map[string]float64{"auc": 0.875, "acc": m.ACC, "ap": m.AP, "scored_labels": 2, "auc_1": 0.75,
		"ap_0": 1, "sensitivity_1": 0.5, "specificity_2": 0.75, "balanced_acc": m.BalancedACC, "macro_f1": m.MacroF1} {
		if got, ok := mp[key]; !ok || got != v {
			t.Errorf("Map()[%q] = %v (present %v), want %v", key, got, ok, v)
		}
	}
	if !math.IsNaN(mp["auc_2"]) {
		t.Errorf("Map()[auc_2] = %v, want NaN for the absent label", mp["auc_2"])
	}
	for _, key := range []string{"ece", "macro_precision", "precision_0"} {
		if _, ok := mp[key]; ok {
			t.Errorf("Map() has single-label metric %q", key)
		}
	}
}

// Random matrices with ties, thresholds hit exactly and single-class labels: every metric
// equals the naive reference.
func TestMultiLabelRandomAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 300 {
		n, l := 1+rng.IntN(40), 1+rng.IntN(6)
		labels := make([][]int, n)
		scores := make([][]float64, n)
		prev := make([]float64, l)
		for k := range prev {
			prev[k] = rng.Float64() * 0.7
		}
		for i := range n {
			labels[i], scores[i] = make([]int, l), make([]float64, l)
			for k := range l {
				if rng.Float64() < prev[k] {
					labels[i][k] = 1
				}
				scores[i][k] = math.Round(rng.Float64()*10) / 10 // ties, 0.5 exactly
			}
		}
		m, err := ComputeMultiLabel(labels, scores)
		if err != nil {
			t.Fatal(err)
		}
		checkML(t, "trial "+strconv.Itoa(trial), m, naiveMultiLabel(labels, scores), 1e-12)
	}
}

type sklearnCase struct {
	Labels      [][]int     `json:"labels"`
	Scores      [][]float64 `json:"scores"`
	AUC         []*float64  `json:"auc"`
	AP          []*float64  `json:"ap"`
	Sensitivity []*float64  `json:"sensitivity"`
	Specificity []*float64  `json:"specificity"`
	ACC         float64     `json:"acc"`
	Scored      int         `json:"scored"`
	Macro       struct {
		AUC         *float64 `json:"auc"`
		AP          *float64 `json:"ap"`
		MacroF1     *float64 `json:"macro_f1"`
		BalancedACC *float64 `json:"balanced_acc"`
	} `json:"macro"`
}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

func orNaNs(ps []*float64) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = orNaN(p)
	}
	return out
}

// The metrics agree with scikit-learn (and MedMNIST's getACC written with it) on random
// cases computed once by testdata/make_multilabel_cases.py.
func TestMultiLabelAgainstSklearn(t *testing.T) {
	b, err := os.ReadFile("testdata/multilabel_sklearn.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Sklearn string        `json:"sklearn"`
		Cases   []sklearnCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 50 {
		t.Fatalf("only %d cases in multilabel_sklearn.json", len(file.Cases))
	}
	partial := 0
	for i, c := range file.Cases {
		m, err := ComputeMultiLabel(c.Labels, c.Scores)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		want := naiveML{auc: orNaNs(c.AUC), ap: orNaNs(c.AP), sens: orNaNs(c.Sensitivity), spec: orNaNs(c.Specificity),
			acc: c.ACC, mAUC: orNaN(c.Macro.AUC), mAP: orNaN(c.Macro.AP), bacc: orNaN(c.Macro.BalancedACC),
			mF1: orNaN(c.Macro.MacroF1), scored: c.Scored}
		checkML(t, "sklearn case "+strconv.Itoa(i), m, want, 1e-12)
		if c.Scored < len(c.AUC) {
			partial++
		}
	}
	if partial == 0 {
		t.Error("no case has a single-class label: the skipping rule is untested")
	}
	t.Logf("%d cases (scikit-learn %s), %d with labels left out of the macros", len(file.Cases), file.Sklearn, partial)
}

func TestMultiLabelNoLabelScored(t *testing.T) {
	m, err := ComputeMultiLabel([][]int{{0, 1}, {0, 1}}, [][]float64{{0.2, 0.9}, {0.7, 0.4}})
	if err != nil {
		t.Fatal(err)
	}
	if m.ScoredLabels != 0 || !math.IsNaN(m.AUC) || !math.IsNaN(m.AP) || !math.IsNaN(m.BalancedACC) {
		t.Errorf("no label with both classes: scored %d, AUC %v, AP %v, BACC %v; want 0 and NaNs", m.ScoredLabels, m.AUC, m.AP, m.BalancedACC)
	}
	if m.ACC != 0.5 {
		t.Errorf("ACC = %v, want 0.5 (2 of 4 decisions right)", m.ACC)
	}
}

func TestMultiLabelMalformed(t *testing.T) {
	ok := [][]float64{{0.1, 0.9}, {0.5, 0.5}}
	for name, tc := range map[string]struct {
		labels [][]int
		scores [][]float64
		want   error
	}{
		"empty":           {nil, nil, ErrEmpty},
		"rows differ":     {[][]int{{0, 1}}, ok, ErrShape},
		"ragged labels":   {[][]int{{0, 1}, {1}}, ok, ErrShape},
		"wrong L":         {[][]int{{0, 1, 0}, {1, 0, 0}}, ok, ErrShape},
		"label 2":         {[][]int{{0, 2}, {1, 0}}, ok, ErrLabel},
		"label -1":        {[][]int{{0, 1}, {-1, 0}}, ok, ErrLabel},
		"score above 1":   {[][]int{{0, 1}, {1, 0}}, [][]float64{{0.1, 1.5}, {0.5, 0.5}}, ErrScore},
		"score NaN":       {[][]int{{0, 1}, {1, 0}}, [][]float64{{0.1, math.NaN()}, {0.5, 0.5}}, ErrScore},
		"no label column": {[][]int{{}, {}}, [][]float64{{}, {}}, ErrShape},
	} {
		if _, err := ComputeMultiLabel(tc.labels, tc.scores); !errors.Is(err, tc.want) {
			t.Errorf("%s: error %v, want %v", name, err, tc.want)
		}
		if _, err := LabelAUC(tc.labels, tc.scores); !errors.Is(err, tc.want) {
			t.Errorf("%s: LabelAUC error %v, want %v", name, err, tc.want)
		}
	}
	if _, err := PredictMultiLabel([][]float64{{0.2}, {-0.1}}); !errors.Is(err, ErrScore) {
		t.Errorf("PredictMultiLabel of a negative score: %v, want ErrScore", err)
	}
}
