package plot

import (
	"fmt"
	"math"
	"sort"

	"github.com/medssl/medssl/eval/metrics"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ROCCurve is one classifier's scores for the positive class (any finite values:
// probabilities, logits) and the true binary labels (1 positive, 0 negative).
// For a multi-class task pass one class's scores against the rest.
type ROCCurve struct {
	Name   string
	Labels []int
	Scores []float64
}

// ROCPoints returns the ROC curve of scores as a detector of label 1: the false
// and true positive rates of the rule "score >= t" for every distinct score t,
// from the highest threshold down, preceded by (0, 0) at t = +Inf:
//
//	FPR(t) = #{negatives with score >= t} / N,   TPR(t) = #{positives with score >= t} / P
//
// Tied scores move the curve in one step (a diagonal segment), so the curve has
// one point per distinct threshold plus the origin, ends at (1, 1), and the
// trapezoidal area under it equals metrics.ROCAUC. Both classes must be present.
func ROCPoints(labels []int, scores []float64) (fpr, tpr, thresholds []float64, err error) {
	if len(labels) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: ROCPoints got no examples", ErrEmpty)
	}
	if len(labels) != len(scores) {
		return nil, nil, nil, fmt.Errorf("%w: ROCPoints got %d labels but %d scores", ErrShape, len(labels), len(scores))
	}
	if err := checkFinite("ROC scores", scores); err != nil {
		return nil, nil, nil, err
	}
	var pos, neg float64
	for i, l := range labels {
		switch l {
		case 0:
			neg++
		case 1:
			pos++
		default:
			return nil, nil, nil, fmt.Errorf("%w: ROC labels[%d] = %d, want 0 or 1", ErrValue, i, l)
		}
	}
	if pos == 0 || neg == 0 {
		return nil, nil, nil, fmt.Errorf("%w: ROC needs both classes, got %v positives and %v negatives", ErrValue, pos, neg)
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	fpr, tpr, thresholds = []float64{0}, []float64{0}, []float64{math.Inf(1)}
	var tp, fp float64
	for lo := 0; lo < len(order); {
		hi := lo
		for hi < len(order) && scores[order[hi]] == scores[order[lo]] {
			if labels[order[hi]] == 1 {
				tp++
			} else {
				fp++
			}
			hi++
		}
		fpr = append(fpr, fp/neg)
		tpr = append(tpr, tp/pos)
		thresholds = append(thresholds, scores[order[lo]])
		lo = hi
	}
	return fpr, tpr, thresholds, nil
}

// ROC draws one ROC curve per classifier, its AUC (metrics.ROCAUC) in the legend,
// and the diagonal of a chance-level classifier.
func ROC(path, title string, curves []ROCCurve) (err error) {
	defer recoverTo(&err)
	if len(curves) == 0 {
		return fmt.Errorf("%w: ROC got no curves", ErrEmpty)
	}
	p := newPlot(title, "false positive rate (1 - specificity)", "true positive rate (sensitivity)")
	chance, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	chance.Color = colorAt(7, 0x80)
	chance.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(chance)
	for i, c := range curves {
		fpr, tpr, _, err := ROCPoints(c.Labels, c.Scores)
		if err != nil {
			return fmt.Errorf("plot: ROC curve %q: %w", c.Name, err)
		}
		positive := make([]bool, len(c.Labels))
		for j, l := range c.Labels {
			positive[j] = l == 1
		}
		auc, err := metrics.ROCAUC(c.Scores, positive)
		if err != nil {
			return fmt.Errorf("plot: ROC curve %q: %w", c.Name, err)
		}
		pts := make(plotter.XYs, len(fpr))
		for j := range fpr {
			pts[j] = plotter.XY{X: fpr[j], Y: tpr[j]}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: ROC curve %q: %w", c.Name, err)
		}
		line.Color = colorAt(i, 0xFF)
		line.Width = vg.Points(1.5)
		if i > 0 {
			line.Dashes = dashes[(i-1)%len(dashes)]
		}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (AUC %.3f)", c.Name, auc), line)
	}
	p.Legend.Add("chance (AUC 0.5)", chance)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	p.X.Padding, p.Y.Padding = vg.Points(4), vg.Points(4)
	return save(path, Width, Height, p)
}

// dashes tell overlapping ROC curves apart beside their colours.
var dashes = [][]vg.Length{
	{vg.Points(6), vg.Points(2)},
	{vg.Points(2), vg.Points(2)},
	{vg.Points(6), vg.Points(2), vg.Points(2), vg.Points(2)},
}
