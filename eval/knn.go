package eval

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// Distance is how KNN compares features.
type Distance int

const (
	// Cosine compares L2-normalised features by their dot product: sim = cos(a, b).
	Cosine Distance = iota
	// Euclidean uses sim = −‖a − b‖ (no normalisation).
	Euclidean
)

// String implements fmt.Stringer.
func (d Distance) String() string {
	switch d {
	case Cosine:
		return "cosine"
	case Euclidean:
		return "euclidean"
	}
	return fmt.Sprintf("Distance(%d)", int(d))
}

// KNNConfig configures the weighted k-nearest-neighbour classifier (Wu et al. 2018,
// "Unsupervised feature learning via non-parametric instance discrimination").
type KNNConfig struct {
	// K is the number of neighbours (> 0; at most the training set's size is used).
	K int
	// Temperature T (> 0) of the vote weights exp(sim/T).
	Temperature float64
	Distance    Distance
}

// DefaultKNNConfig is the kNN evaluation DINO (Caron et al. 2021) uses: cosine similarity,
// temperature 0.07 and k = 20 (DINO's best; Wu et al. used 200 on ImageNet).
func DefaultKNNConfig() KNNConfig { return KNNConfig{K: 20, Temperature: 0.07, Distance: Cosine} }

// Validate reports a setting the classifier cannot use.
func (c KNNConfig) Validate() error {
	if c.K <= 0 || !(c.Temperature > 0) || math.IsInf(c.Temperature, 0) {
		return fmt.Errorf("eval: kNN: k %d and temperature %v must be positive (start from eval.DefaultKNNConfig())", c.K, c.Temperature)
	}
	if c.Distance != Cosine && c.Distance != Euclidean {
		return fmt.Errorf("eval: kNN: unknown distance %v", c.Distance)
	}
	return nil
}

// KNNScores classifies each query feature by a weighted vote of its k most similar training
// features (Wu et al. 2018):
//
//	score_c(q) = Σ_{i ∈ N_k(q), y_i = c} exp(sim(q, x_i)/T)  /  Σ_{i ∈ N_k(q)} exp(sim(q, x_i)/T)
//
// so every row sums to 1 and serves as class probabilities for AUC and accuracy. Ties in
// similarity are broken by the lower training index. The weights are computed as
// exp((sim − max sim)/T), which leaves the normalised scores unchanged but cannot overflow.
func KNNScores(trainFeats [][]float32, trainLabels []int32, queryFeats [][]float32, numClasses int, cfg KNNConfig) ([][]float64, error) {
	if len(trainLabels) != len(trainFeats) {
		return nil, fmt.Errorf("eval: kNN: %d training features but %d labels", len(trainFeats), len(trainLabels))
	}
	if numClasses < 2 {
		return nil, fmt.Errorf("eval: kNN: need at least 2 classes, got %d", numClasses)
	}
	for i, l := range trainLabels {
		if l < 0 || int(l) >= numClasses {
			return nil, fmt.Errorf("eval: kNN: training label %d of example %d not in [0, %d)", l, i, numClasses)
		}
	}
	return knnVote(trainFeats, queryFeats, numClasses, cfg, func(scores []float64, i int, w float64) {
		scores[trainLabels[i]] += w
	})
}

// KNNMultiLabelScores scores every label of each query feature by the same weighted vote
// over its k most similar training features, the neighbours' 0/1 labels averaged with the
// vote weights:
//
//	score_l(q) = Σ_{i ∈ N_k(q)} exp(sim(q, x_i)/T)·y_il  /  Σ_{i ∈ N_k(q)} exp(sim(q, x_i)/T)
//
// the weighted fraction of the neighbours that have label l, in [0, 1] (rows need not
// sum to 1). trainLabels are row-major, numLabels 0/1 values per training feature (a
// multi-label data.Split's Labels). Neighbours and weights are KNNScores'.
func KNNMultiLabelScores(trainFeats [][]float32, trainLabels []int32, queryFeats [][]float32, numLabels int, cfg KNNConfig) ([][]float64, error) {
	if numLabels < 1 || len(trainLabels) != len(trainFeats)*numLabels {
		return nil, fmt.Errorf("eval: kNN: %d training features but %d label values, want %d labels each", len(trainFeats), len(trainLabels), numLabels)
	}
	for i, l := range trainLabels {
		if l != 0 && l != 1 {
			return nil, fmt.Errorf("eval: kNN: training example %d label %d is %d, want 0 or 1", i/numLabels, i%numLabels, l)
		}
	}
	return knnVote(trainFeats, queryFeats, numLabels, cfg, func(scores []float64, i int, w float64) {
		for l, y := range trainLabels[i*numLabels : (i+1)*numLabels] {
			scores[l] += w * float64(y)
		}
	})
}

// knnVote finds each query's k most similar training features and lets each neighbour i
// add its weight w to the query's width scores (vote), then divides them by the total
// weight.
func knnVote(trainFeats, queryFeats [][]float32, width int, cfg KNNConfig, vote func(scores []float64, i int, w float64)) ([][]float64, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(trainFeats) == 0 || len(queryFeats) == 0 {
		return nil, errors.New("eval: kNN: no training or query features")
	}
	dim := len(trainFeats[0])
	for i, f := range trainFeats {
		if len(f) != dim {
			return nil, fmt.Errorf("eval: kNN: training feature %d has %d values, want %d", i, len(f), dim)
		}
	}
	for i, f := range queryFeats {
		if len(f) != dim {
			return nil, fmt.Errorf("eval: kNN: query feature %d has %d values, want %d", i, len(f), dim)
		}
	}
	k := min(cfg.K, len(trainFeats))
	train := prepare(trainFeats, cfg.Distance)
	type neighbour struct {
		i   int
		sim float64
	}
	sims := make([]neighbour, len(train))
	out := make([][]float64, len(queryFeats))
	for qi, qf := range prepare(queryFeats, cfg.Distance) {
		for i, tf := range train {
			sims[i] = neighbour{i, similarity(qf, tf, cfg.Distance)}
		}
		slices.SortFunc(sims, func(a, b neighbour) int { return cmp.Or(cmp.Compare(b.sim, a.sim), cmp.Compare(a.i, b.i)) })
		scores := make([]float64, width)
		var total float64
		top := sims[0].sim
		for _, nb := range sims[:k] {
			w := math.Exp((nb.sim - top) / cfg.Temperature)
			vote(scores, nb.i, w)
			total += w
		}
		for c := range scores {
			scores[c] /= total
		}
		out[qi] = scores
	}
	return out, nil
}

// prepare converts features to float64, L2-normalised for the cosine distance (a zero
// vector stays zero).
func prepare(feats [][]float32, d Distance) [][]float64 {
	out := make([][]float64, len(feats))
	for i, f := range feats {
		v := make([]float64, len(f))
		var norm float64
		for j, x := range f {
			v[j] = float64(x)
			norm += v[j] * v[j]
		}
		if d == Cosine && norm > 0 {
			norm = math.Sqrt(norm)
			for j := range v {
				v[j] /= norm
			}
		}
		out[i] = v
	}
	return out
}

func similarity(a, b []float64, d Distance) float64 {
	var s float64
	if d == Cosine {
		for j := range a {
			s += a[j] * b[j]
		}
		return s
	}
	for j := range a {
		diff := a[j] - b[j]
		s += diff * diff
	}
	return -math.Sqrt(s)
}

// KNNClassifier is a kNN classifier on the frozen features of an encoder: the training
// features and labels, and the encoder that computes features of new images.
type KNNClassifier struct {
	Config     KNNConfig
	NumClasses int // classes, or labels when MultiLabel
	// MultiLabel marks a classifier of a multi-label split: it scores every label with
	// KNNMultiLabelScores, and ValAUC is the validation macro AUC.
	MultiLabel bool
	// ValAUC is the validation AUC of Config (when KNN was given a validation split).
	ValAUC float64

	trainFeats  [][]float32
	trainLabels []int32
	backend     compute.Backend
	store       *model.Store
	enc         models.Encoder
}

// KNN builds a kNN classifier on the frozen features of the encoder enc whose weights are
// under models.EncoderScope in pretrained (features in inference mode, see Features). When
// several values of k are given in ks, the one with the best AUC on valSplit is kept (the
// first on ties); with none, cfg.K is used. valSplit may be nil only then. A multi-label
// trainSplit (numClasses = its number of labels) gives a multi-label classifier
// (KNNMultiLabelScores; k chosen on validation macro AUC).
func KNN(backend compute.Backend, pretrained *model.Store, enc models.Encoder, trainSplit, valSplit *data.Split, numClasses int, cfg KNNConfig, ks ...int) (clf *KNNClassifier, err error) {
	defer trainutil.Recover("eval: kNN", &err)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if backend == nil || pretrained == nil || enc == nil {
		return nil, errors.New("eval: kNN needs a backend, a pretrained store and its encoder")
	}
	if len(ks) > 0 && (valSplit == nil || valSplit.N == 0) {
		return nil, errors.New("eval: kNN: choosing k needs a validation split")
	}
	if valSplit == nil || valSplit.N == 0 {
		if err := checkLabelled("training", trainSplit); err != nil {
			return nil, fmt.Errorf("eval: kNN: %w", err)
		}
		if trainSplit.MultiLabel() && trainSplit.LabelDim != numClasses {
			return nil, fmt.Errorf("eval: kNN: split %q has %d labels per image, numClasses is %d", trainSplit.Name, trainSplit.LabelDim, numClasses)
		}
	} else if err := checkPair(trainSplit, valSplit, numClasses); err != nil {
		return nil, fmt.Errorf("eval: kNN: %w", err)
	}
	feats, err := models.Features(backend, pretrained, enc, trainSplit)
	if err != nil {
		return nil, err
	}
	clf = &KNNClassifier{Config: cfg, NumClasses: numClasses, MultiLabel: trainSplit.MultiLabel(), ValAUC: math.NaN(), trainFeats: feats,
		trainLabels: trainSplit.Labels, backend: backend, store: pretrained, enc: enc}
	if valSplit == nil || valSplit.N == 0 {
		return clf, nil
	}
	valFeats, err := models.Features(backend, pretrained, enc, valSplit)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		ks = []int{cfg.K}
	}
	best, chosen := math.Inf(-1), cfg
	for _, k := range ks {
		c := cfg
		c.K = k
		clf.Config = c
		scores, err := clf.scores(valFeats)
		if err != nil {
			return nil, err
		}
		auc, err := splitAUC(valSplit, scores)
		if err != nil {
			return nil, fmt.Errorf("eval: kNN validation AUC: %w", err)
		}
		if auc > best || math.IsInf(best, -1) {
			best, chosen, clf.ValAUC = auc, c, auc
		}
	}
	clf.Config = chosen
	return clf, nil
}

// scores applies the classifier to query features.
func (c *KNNClassifier) scores(feats [][]float32) ([][]float64, error) {
	if c.MultiLabel {
		return KNNMultiLabelScores(c.trainFeats, c.trainLabels, feats, c.NumClasses, c.Config)
	}
	return KNNScores(c.trainFeats, c.trainLabels, feats, c.NumClasses, c.Config)
}

// Predict returns the class scores [N][C] of every image of split (rows sum to 1), or for
// a multi-label classifier every label's score [N][L].
func (c *KNNClassifier) Predict(split *data.Split) (scores [][]float64, err error) {
	defer trainutil.Recover("eval: kNN predict", &err)
	if split == nil || split.N == 0 {
		return nil, errors.New("eval: kNN predict: empty split")
	}
	feats, err := models.Features(c.backend, c.store, c.enc, split)
	if err != nil {
		return nil, err
	}
	return c.scores(feats)
}

// Evaluate predicts split and computes its metrics against the split's labels
// (supervised.Score: multi-label metrics for a multi-label split).
func (c *KNNClassifier) Evaluate(split *data.Split) (metrics.Metrics, error) {
	if err := checkLabelled("evaluation", split); err != nil {
		return metrics.Metrics{}, err
	}
	scores, err := c.Predict(split)
	if err != nil {
		return metrics.Metrics{}, err
	}
	return supervised.Score(split, scores)
}

// ParseDistance returns the Distance named s ("cosine" or "euclidean").
func ParseDistance(s string) (Distance, error) {
	for _, d := range []Distance{Cosine, Euclidean} {
		if d.String() == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("eval: unknown kNN distance %q (want cosine or euclidean)", s)
}
