package metrics

import (
	"fmt"
	"math"
)

// ECEBins is the number of equal-width confidence bins of the expected
// calibration error in Compute, the value of Guo et al. (2017), "On Calibration of
// Modern Neural Networks".
const ECEBins = 15

// CalibrationBin is one confidence bin of a reliability diagram.
type CalibrationBin struct {
	Lo, Hi     float64 // the bin is the interval (Lo, Hi], the first one [0, Hi]
	Count      int     // examples whose confidence falls in the bin
	Accuracy   float64 // fraction of them predicted correctly; NaN when Count == 0
	Confidence float64 // their mean confidence; NaN when Count == 0
}

// Calibration splits the examples of an N x C probability matrix into bins
// equal-width confidence bins (b/bins, (b+1)/bins], b = 0..bins-1 (the first bin
// also holds confidence 0), for a reliability diagram. The prediction of example i
// is Predict's (threshold 0.5 on the positive column for binary problems, argmax
// otherwise) and its confidence is the probability given to that predicted class,
// the top-label confidence of Guo et al. (2017): max_k p_ik for argmax, and p or
// 1-p for a single sigmoid column p.
func Calibration(labels []int, scores [][]float64, bins int) ([]CalibrationBin, error) {
	if bins < 1 {
		return nil, fmt.Errorf("%w: %d calibration bins, want >= 1", ErrParam, bins)
	}
	if _, err := checkScores(labels, scores); err != nil {
		return nil, err
	}
	pred, err := Predict(scores)
	if err != nil {
		return nil, err
	}
	out := make([]CalibrationBin, bins)
	correct := make([]int, bins)
	sumConf := make([]float64, bins)
	for b := range out {
		out[b].Lo = float64(b) / float64(bins)
		out[b].Hi = float64(b+1) / float64(bins)
	}
	for i, row := range scores {
		var conf float64
		switch {
		case len(row) > 1:
			conf = row[pred[i]]
		case pred[i] == 1: // single sigmoid column p = P(class 1)
			conf = row[0]
		default:
			conf = 1 - row[0]
		}
		b := binOf(conf, bins)
		out[b].Count++
		sumConf[b] += conf
		if pred[i] == labels[i] {
			correct[b]++
		}
	}
	for b := range out {
		out[b].Accuracy = ratio(correct[b], out[b].Count)
		out[b].Confidence = sumConf[b] / float64(out[b].Count)
	}
	return out, nil
}

// binOf returns the b with b/bins < c <= (b+1)/bins, 0 for c == 0, comparing c
// with the same float64 boundaries as CalibrationBin.Lo and Hi.
func binOf(c float64, bins int) int {
	b := max(int(math.Ceil(c*float64(bins)))-1, 0)
	b = min(b, bins-1)
	for b > 0 && c <= float64(b)/float64(bins) {
		b--
	}
	for b < bins-1 && c > float64(b+1)/float64(bins) {
		b++
	}
	return b
}

// ECE returns the expected calibration error of an N x C probability matrix
// (Guo et al. 2017, with Calibration's top-label confidence and bins):
//
//	ECE = Σ_b (|B_b| / N) · | acc(B_b) - conf(B_b) |
//
// where acc(B_b) and conf(B_b) are the accuracy and mean confidence of the
// examples in bin b; empty bins contribute 0. ECE is in [0, 1], 0 for a perfectly
// calibrated model. It is defined even when a class is absent from labels.
func ECE(labels []int, scores [][]float64, bins int) (float64, error) {
	cb, err := Calibration(labels, scores, bins)
	if err != nil {
		return 0, err
	}
	var ece float64
	for _, b := range cb {
		if b.Count > 0 {
			ece += float64(b.Count) / float64(len(labels)) * math.Abs(b.Accuracy-b.Confidence)
		}
	}
	return ece, nil
}
