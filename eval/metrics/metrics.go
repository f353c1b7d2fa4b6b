package metrics

import (
	"strconv"
)

// Stable metric names used as keys in Metrics.Map, reports, CSV and JSON.
const (
	MetricAUC         = "auc"
	MetricACC         = "acc"
	MetricBalancedACC = "balanced_acc"
	MetricMacroF1     = "macro_f1"
	MetricAP          = "ap"              // MacroAveragePrecision
	MetricECE         = "ece"             // ECE with ECEBins bins
	MetricMacroPrec   = "macro_precision" // MacroPrecision
	// Per-class metrics are named MetricSensitivity+"_"+k, MetricSpecificity+"_"+k
	// and MetricPrecision+"_"+k.
	MetricSensitivity = "sensitivity"
	MetricSpecificity = "specificity"
	MetricPrecision   = "precision"
	// Multi-label metrics (ComputeMultiLabel) add, for each label k, MetricAUC+"_"+k and
	// MetricAP+"_"+k, and the number of labels the macro averages ran over.
	MetricScoredLabels = "scored_labels"
)

// Metrics holds the classification metrics of one evaluation, as Compute (single-label)
// or ComputeMultiLabel (multi-label) fills them. Undefined values are NaN (see the package
// documentation).
type Metrics struct {
	N       int // number of examples
	Classes int // K, or the number of labels L when MultiLabel
	// MultiLabel marks metrics of a multi-label problem (ComputeMultiLabel): Classes are
	// then labels, the per-class slices are per label, and the fields below are filled.
	MultiLabel bool

	AUC         float64 // MedMNIST AUC, see AUC
	ACC         float64 // MedMNIST accuracy, see ACC
	BalancedACC float64 // mean per-class recall, see BalancedAccuracy
	MacroF1     float64 // see MacroF1
	AP          float64 // average precision, see MacroAveragePrecision
	ECE         float64 // expected calibration error with ECEBins bins, see ECE
	MacroPrec   float64 // see MacroPrecision

	Sensitivity []float64 // per class, see Sensitivity
	Specificity []float64 // per class, see Specificity
	Precision   []float64 // per class, see Precision
	Confusion   [][]int   // Confusion[true][predicted]

	// Multi-label only: each label's ROC AUC and AP (NaN where undefined), and the number
	// of labels with both classes present, which the macro averages ran over.
	LabelAUC, LabelAP []float64
	ScoredLabels      int
}

// Compute returns all metrics of an N x C probability matrix with MedMNIST's
// conventions: AUC, AP and ECE from the scores, and the other metrics from the
// predictions of Predict (threshold 0.5 for binary problems, argmax for
// multi-class). Malformed input is an error; a class absent from labels gives NaN
// AUC, AP, balanced accuracy and sensitivity for that class, a class never
// predicted NaN precision for it and NaN macro precision, with a nil error.
func Compute(labels []int, scores [][]float64) (Metrics, error) {
	classes, err := checkScores(labels, scores)
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{N: len(labels), Classes: classes}
	if m.AUC, err = AUC(labels, scores); err != nil {
		return Metrics{}, err
	}
	if m.AP, err = MacroAveragePrecision(labels, scores); err != nil {
		return Metrics{}, err
	}
	if m.ECE, err = ECE(labels, scores, ECEBins); err != nil {
		return Metrics{}, err
	}
	pred, err := Predict(scores)
	if err != nil {
		return Metrics{}, err
	}
	if m.Confusion, err = Confusion(labels, pred, classes); err != nil {
		return Metrics{}, err
	}
	// The remaining calls cannot fail on inputs Confusion accepted.
	m.ACC, _ = Accuracy(labels, pred)
	m.BalancedACC, _ = BalancedAccuracy(labels, pred, classes)
	m.MacroF1, _ = MacroF1(labels, pred, classes)
	m.Sensitivity, _ = Sensitivity(labels, pred, classes)
	m.Specificity, _ = Specificity(labels, pred, classes)
	m.MacroPrec, _ = MacroPrecision(labels, pred, classes)
	m.Precision, _ = Precision(labels, pred, classes)
	return m, nil
}

// Map returns the metrics keyed by their stable names: "auc", "acc",
// "balanced_acc", "macro_f1", "ap", "ece", "macro_precision", and
// "sensitivity_k", "specificity_k", "precision_k" for each class k. It is the
// form a report Row stores.
//
// Multi-label metrics map to "auc", "acc", "balanced_acc", "macro_f1", "ap",
// "scored_labels", and "auc_k", "ap_k", "sensitivity_k", "specificity_k" for each label
// k (no ECE, macro precision or per-class precision: see ComputeMultiLabel).
func (m Metrics) Map() map[string]float64 {
	if m.MultiLabel {
		return m.multiLabelMap()
	}
	out := map[string]float64{
		MetricAUC:         m.AUC,
		MetricACC:         m.ACC,
		MetricBalancedACC: m.BalancedACC,
		MetricMacroF1:     m.MacroF1,
		MetricAP:          m.AP,
		MetricECE:         m.ECE,
		MetricMacroPrec:   m.MacroPrec,
	}
	for k, v := range m.Sensitivity {
		out[MetricSensitivity+"_"+strconv.Itoa(k)] = v
	}
	for k, v := range m.Specificity {
		out[MetricSpecificity+"_"+strconv.Itoa(k)] = v
	}
	for k, v := range m.Precision {
		out[MetricPrecision+"_"+strconv.Itoa(k)] = v
	}
	return out
}

// FromFloat32 converts rows of float32 scores (what GoMLX graphs return) to the float64
// rows the metrics take.
func FromFloat32(rows [][]float32) [][]float64 {
	out := make([][]float64, len(rows))
	for i, r := range rows {
		out[i] = make([]float64, len(r))
		for j, v := range r {
			out[i][j] = float64(v)
		}
	}
	return out
}

func (m Metrics) multiLabelMap() map[string]float64 {
	out := map[string]float64{
		MetricAUC:          m.AUC,
		MetricACC:          m.ACC,
		MetricBalancedACC:  m.BalancedACC,
		MetricMacroF1:      m.MacroF1,
		MetricAP:           m.AP,
		MetricScoredLabels: float64(m.ScoredLabels),
	}
	for name, vals := range map[string][]float64{MetricAUC: m.LabelAUC, MetricAP: m.LabelAP,
		MetricSensitivity: m.Sensitivity, MetricSpecificity: m.Specificity} {
		for k, v := range vals {
			out[name+"_"+strconv.Itoa(k)] = v
		}
	}
	return out
}
