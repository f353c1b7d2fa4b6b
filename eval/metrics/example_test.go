package metrics_test

import (
	"fmt"

	"github.com/medssl/medssl/eval/metrics"
)

// A binary problem: the last column is the positive-class probability.
// By hand: AUC counts positive/negative pairs, (0.35>0.1) (0.35<0.4) (0.8>0.1)
// (0.8>0.4) = 3/4; predictions (> 0.5) are 0,0,0,1, so ACC 3/4, recalls 1 and
// 1/2 (balanced 3/4), F1 4/5 and 2/3 (macro 11/15).
func ExampleCompute() {
	labels := []int{0, 0, 1, 1}
	scores := [][]float64{{0.9, 0.1}, {0.6, 0.4}, {0.65, 0.35}, {0.2, 0.8}}
	m, err := metrics.Compute(labels, scores)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("auc %.3f acc %.3f balanced_acc %.3f macro_f1 %.3f\n", m.AUC, m.ACC, m.BalancedACC, m.MacroF1)
	fmt.Printf("sensitivity %.3f specificity %.3f\n", m.Sensitivity, m.Specificity)

	_, err = metrics.Compute([]int{0, 2}, scores[:2])
	fmt.Println(err)
	// Output:
	// auc 0.750 acc 0.750 balanced_acc 0.750 macro_f1 0.733
	// sensitivity [1.000 0.500] specificity [0.500 1.000]
	// metrics: class index out of range: label[1] = 2, want [0, 2)
}

// Three findings on four X-rays; no image has the third, so its AUC is undefined and the
// macros average the other two: AUC (1 + 3/4)/2. Accuracy counts all 12 decisions at
// 0.5 (a score of exactly 0.5 is "absent"): 10 are right.
func ExampleComputeMultiLabel() {
	labels := [][]int{{1, 0, 0}, {0, 1, 0}, {1, 1, 0}, {0, 0, 0}}
	scores := [][]float64{{0.9, 0.2, 0.1}, {0.4, 0.6, 0.5}, {0.6, 0.4, 0.7}, {0.3, 0.5, 0.2}}
	m, err := metrics.ComputeMultiLabel(labels, scores)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("auc %.3f over %d findings, per finding %.3f\n", m.AUC, m.ScoredLabels, m.LabelAUC)
	fmt.Printf("acc %.3f sensitivity %.3f specificity %.3f\n", m.ACC, m.Sensitivity, m.Specificity)
	// Output:
	// auc 0.875 over 2 findings, per finding [1.000 0.750 NaN]
	// acc 0.833 sensitivity [1.000 0.500 NaN] specificity [1.000 1.000 0.750]
}
