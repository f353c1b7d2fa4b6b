package eval

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// Out-of-distribution detection on frozen features: a linear probe gives logits for the
// max-softmax (Hendrycks & Gimpel 2017) and energy (Liu et al. 2020) scores, and the
// in-distribution training features give the class-conditional Gaussian of the
// Mahalanobis score (Lee et al. 2018). The scores themselves live in package eval.

// OODConfig configures DetectOOD. Start from DefaultOODConfig.
type OODConfig struct {
	// Probe holds the backend, the pretrained encoder's architecture and the linear probe's
	// optimiser settings (see LinearProbe; Augment, Pretrained and the fine-tuning fields
	// are ignored).
	Probe supervised.Config
	// Val, when set, is an in-distribution validation split: the probe's epoch and the
	// search point are selected on its AUC. Without it no selection is made: the probe of
	// the last epoch with Probe's settings is used and Search must hold at most one point.
	Val *data.Split
	// Search is run on Val as LinearProbeSearch does; the zero Search trains the single
	// probe Probe describes.
	Search Search
	// Temperature (> 0) of the energy score (the paper's is 1).
	Temperature float64
	// TPR, in (0, 1], is the in-distribution true positive rate at which FPR is reported
	// (0.95: FPR@95%TPR).
	TPR float64
}

// DefaultOODConfig is a linear probe with DefaultProbeConfig's recipe, the energy score at
// temperature 1 (Liu et al. 2020) and FPR at 95% TPR. Set Probe.Backend and Probe.Encoder.
func DefaultOODConfig() OODConfig {
	return OODConfig{Probe: DefaultProbeConfig(), Temperature: 1, TPR: 0.95}
}

// OODScore is one detector's per-image scores (higher means more in-distribution) and
// its metrics: AUROC = metrics.OODAUROC(In, Out), FPR = metrics.FPRAtTPR(In, Out, TPR).
type OODScore struct {
	Name    string    // "max-softmax", "energy" or "mahalanobis"
	In, Out []float64 // scores of the in-distribution test and the OOD images, in split order
	AUROC   float64
	FPR     float64 // OOD images kept at the threshold that keeps TPR of the in-distribution ones
}

// OODReport is the result of DetectOOD.
type OODReport struct {
	MaxSoftmax, Energy, Mahalanobis OODScore
	// InLogits and OutLogits are the probe's logits [N][K] of the in-distribution test
	// and OOD images (what MaxSoftmax and Energy are computed from).
	InLogits, OutLogits [][]float64
	// Probe is the linear probe used; LearningRate and WeightDecay its settings.
	Probe                     *Probe
	LearningRate, WeightDecay float64
	// InTestAUC is the probe's classification AUC on the in-distribution test split
	// (NaN when it cannot be computed, e.g. a single class): a check that the probe
	// learnt the task.
	InTestAUC float64
	// Temperature and TPR actually used; OutConverted tells whether the OOD images'
	// channels were converted to the in-distribution ones.
	Temperature, TPR float64
	OutConverted     bool
}

// Scores returns the three detectors in a fixed order, for tables.
func (r *OODReport) Scores() []OODScore {
	return []OODScore{r.MaxSoftmax, r.Energy, r.Mahalanobis}
}

// DetectOOD evaluates out-of-distribution detection on the frozen features of a
// pretrained encoder (weights under models.EncoderScope of pretrained, architecture
// cfg.Probe.Encoder), in inference mode (batch norm uses its running averages):
//
//   - a linear probe is trained on the features and labels of fit (selected on cfg.Val
//     when given; inTest and outTest are never used for selection);
//   - its logits on inTest and outTest give the max-softmax and energy scores;
//   - a class-conditional Gaussian with tied covariance fitted on fit's features gives
//     the Mahalanobis score;
//   - each score's AUROC (inTest positive) and FPR at cfg.TPR are reported.
//
// Images must have fit's height and width. Images with another channel count than fit's
// are converted (grayscale to RGB by replication, RGB to grayscale by ITU-R BT.601 luma,
// as PIL's "L" mode used to build MedMNIST); other channel counts are errors. The labels
// of outTest are ignored.
func DetectOOD(pretrained *model.Store, fit, inTest, outTest *data.Split, cfg OODConfig) (rep *OODReport, err error) {
	defer trainutil.Recover("eval: detect OOD", &err)
	if pretrained == nil || cfg.Probe.Encoder == nil {
		return nil, errors.New("eval: detect OOD needs a pretrained store and its encoder (cfg.Probe.Encoder)")
	}
	if err := cfg.Probe.Validate(); err != nil {
		return nil, fmt.Errorf("eval: detect OOD: %w", err)
	}
	rep = &OODReport{Temperature: cfg.Temperature, TPR: cfg.TPR}
	if !(rep.Temperature > 0) || math.IsInf(rep.Temperature, 0) {
		return nil, fmt.Errorf("eval: detect OOD: energy temperature %v, want > 0 and finite", cfg.Temperature)
	}
	if !(rep.TPR > 0 && rep.TPR <= 1) {
		return nil, fmt.Errorf("eval: detect OOD: TPR %v, want (0, 1]", cfg.TPR)
	}
	if fit == nil || fit.N == 0 {
		return nil, errors.New("eval: detect OOD: empty fit split")
	}
	if cfg.Val == nil && cfg.Search.Trials() > 1 {
		return nil, errors.New("eval: detect OOD: a probe search needs a validation split (OODConfig.Val)")
	}
	val := cfg.Val
	if val != nil {
		if val, _, err = matchImages("validation", val, fit); err != nil {
			return nil, err
		}
	}
	if inTest, _, err = matchImages("in-distribution test", inTest, fit); err != nil {
		return nil, err
	}
	if outTest, rep.OutConverted, err = matchImages("OOD", outTest, fit); err != nil {
		return nil, err
	}
	numClasses := fit.NumClasses
	if fit.MultiLabel() {
		return nil, fmt.Errorf("eval: detect OOD: fit split %q is multi-label (%d labels per image); the OOD scores (max softmax, energy, Mahalanobis) need one class per image", fit.Name, fit.LabelDim)
	}
	if err := checkLabelled("fit", fit); err != nil {
		return nil, err
	}
	if val != nil && val.LabelDim != 1 {
		return nil, errors.New("eval: detect OOD: the validation split must be single-label")
	}

	p := cfg.Probe
	fitFeats, err := models.Features(p.Backend, pretrained, p.Encoder, fit)
	if err != nil {
		return nil, err
	}
	if val != nil {
		search, err := LinearProbeSearch(fit, val, numClasses, pretrained, p, cfg.Search)
		if err != nil {
			return nil, err
		}
		rep.Probe, rep.LearningRate, rep.WeightDecay = search.Best, search.LearningRate, search.WeightDecay
	} else {
		if pts := cfg.Search.points(p); len(pts) == 1 {
			p = pts[0]
		}
		// No selection: the validation AUC the training loop computes every epoch is on the
		// fit split itself, and only the last epoch's weights (Final) are used.
		head, err := supervised.TrainLinear(fitFeats, fit.Labels, fitFeats, fit.Labels, numClasses, p)
		if err != nil {
			return nil, err
		}
		rep.Probe = &Probe{Head: head.Final, Pretrained: pretrained, Encoder: p.Encoder}
		rep.LearningRate, rep.WeightDecay = p.Optimizer.LearningRate, p.Optimizer.WeightDecay
	}

	inFeats, err := models.Features(p.Backend, pretrained, p.Encoder, inTest)
	if err != nil {
		return nil, err
	}
	outFeats, err := models.Features(p.Backend, pretrained, p.Encoder, outTest)
	if err != nil {
		return nil, err
	}
	inLogits, err := rep.Probe.Head.LogitsFeatures(inFeats)
	if err != nil {
		return nil, err
	}
	outLogits, err := rep.Probe.Head.LogitsFeatures(outFeats)
	if err != nil {
		return nil, err
	}
	rep.InLogits, rep.OutLogits = metrics.FromFloat32(inLogits), metrics.FromFloat32(outLogits)
	rep.InTestAUC = math.NaN()
	if inTest.LabelDim == 1 {
		if auc, err := metrics.AUC(inTest.IntLabels(), softmaxRows(rep.InLogits)); err == nil {
			rep.InTestAUC = auc
		}
	}

	maha, err := metrics.FitMahalanobis(metrics.FromFloat32(fitFeats), fit.IntLabels())
	if err != nil {
		return nil, fmt.Errorf("eval: detect OOD: Mahalanobis on the fit split's features: %w", err)
	}
	rep.MaxSoftmax = OODScore{Name: "max-softmax", In: metrics.MaxSoftmaxScore(rep.InLogits), Out: metrics.MaxSoftmaxScore(rep.OutLogits)}
	rep.Energy = OODScore{Name: "energy", In: metrics.EnergyScore(rep.InLogits, rep.Temperature), Out: metrics.EnergyScore(rep.OutLogits, rep.Temperature)}
	rep.Mahalanobis = OODScore{Name: "mahalanobis", In: maha.Score(metrics.FromFloat32(inFeats)), Out: maha.Score(metrics.FromFloat32(outFeats))}
	for _, s := range []*OODScore{&rep.MaxSoftmax, &rep.Energy, &rep.Mahalanobis} {
		if s.AUROC, err = metrics.OODAUROC(s.In, s.Out); err != nil {
			return nil, fmt.Errorf("eval: detect OOD: %s AUROC: %w", s.Name, err)
		}
		if s.FPR, err = metrics.FPRAtTPR(s.In, s.Out, rep.TPR); err != nil {
			return nil, fmt.Errorf("eval: detect OOD: %s FPR: %w", s.Name, err)
		}
	}
	return rep, nil
}

func softmaxRows(logits [][]float64) [][]float64 {
	out := make([][]float64, len(logits))
	for i, row := range logits {
		top := math.Inf(-1)
		for _, l := range row {
			top = max(top, l)
		}
		var sum float64
		out[i] = make([]float64, len(row))
		for j, l := range row {
			out[i][j] = math.Exp(l - top)
			sum += out[i][j]
		}
		for j := range row {
			out[i][j] /= sum
		}
	}
	return out
}

// matchImages returns s with ref's channel count (converting grayscale↔RGB, see
// DetectOOD) and whether it converted; a nil or empty split, another image size or
// another channel count are errors naming the split (what).
func matchImages(what string, s, ref *data.Split) (*data.Split, bool, error) {
	if s == nil || s.N == 0 {
		return nil, false, fmt.Errorf("eval: detect OOD: empty %s split", what)
	}
	if s.Height != ref.Height || s.Width != ref.Width {
		return nil, false, fmt.Errorf("eval: detect OOD: %s images are %dx%d, the fit split's %dx%d (resize them first)",
			what, s.Height, s.Width, ref.Height, ref.Width)
	}
	if s.Channels == ref.Channels {
		return s, false, nil
	}
	out, err := data.ConvertChannels(s, ref.Channels)
	if err != nil {
		return nil, false, fmt.Errorf("eval: detect OOD: %s split: %w", what, err)
	}
	return out, true, nil
}
