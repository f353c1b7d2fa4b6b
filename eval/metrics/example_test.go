package eval_test

import (
	"fmt"
	"os"

	"github.com/medssl/medssl/eval"
)

// A binary problem: the last column is the positive-class probability.
// By hand: AUC counts positive/negative pairs, (0.35>0.1) (0.35<0.4) (0.8>0.1)
// (0.8>0.4) = 3/4; predictions (> 0.5) are 0,0,0,1, so ACC 3/4, recalls 1 and
// 1/2 (balanced 3/4), F1 4/5 and 2/3 (macro 11/15).
func ExampleCompute() {
	labels := []int{0, 0, 1, 1}
	scores := [][]float64{{0.9, 0.1}, {0.6, 0.4}, {0.65, 0.35}, {0.2, 0.8}}
	m, err := eval.Compute(labels, scores)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("auc %.3f acc %.3f balanced_acc %.3f macro_f1 %.3f\n", m.AUC, m.ACC, m.BalancedACC, m.MacroF1)
	fmt.Printf("sensitivity %.3f specificity %.3f\n", m.Sensitivity, m.Specificity)

	_, err = eval.Compute([]int{0, 2}, scores[:2])
	fmt.Println(err)
	// Output:
	// auc 0.750 acc 0.750 balanced_acc 0.750 macro_f1 0.733
	// sensitivity [1.000 0.500] specificity [0.500 1.000]
	// eval: class index out of range: label[1] = 2, want [0, 2)
}

// Two arms, two seeds each; mean ± sample standard deviation by hand:
// AUC 0.80, 0.84 -> 0.820 ± 0.028 (0.02·√2); 0.90, 0.90 -> 0.900 ± 0.000.
func ExampleReport() {
	var r eval.Report
	for seed, auc := range []float64{0.80, 0.84} {
		r.Add(eval.Row{Arm: "supervised", Fraction: 0.1, Seed: int64(seed),
			Metrics: map[string]float64{"auc": auc, "acc": 0.75, "balanced_acc": 0.5}})
	}
	for seed := range 2 {
		r.Add(eval.Row{Arm: "simclr+linear", Fraction: 0.1, Seed: int64(seed),
			Metrics: map[string]float64{"auc": 0.9, "acc": 0.8, "balanced_acc": 0.7}})
	}
	r.WriteTable(os.Stdout)
	// r.WriteFiles("results", "breastmnist") also writes .csv, .json and .txt.

	// Output:
	// fraction  arm            n  auc            acc            balanced_acc
	// 0.1       simclr+linear  2  0.900 ± 0.000  0.800 ± 0.000  0.700 ± 0.000
	// 0.1       supervised     2  0.820 ± 0.028  0.750 ± 0.000  0.500 ± 0.000
}
