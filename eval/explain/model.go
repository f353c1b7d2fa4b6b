package explain

import (
	"errors"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// StagedEncoder is an encoder whose features are the global average pool of the last of
// the feature maps Stages returns, with the same variables as Encode: Grad-CAM reads one
// of those maps. models.ResNetConfig is one (stem and four stages).
type StagedEncoder interface {
	models.Encoder
	Stages(scope *model.Scope, images *graph.Node) []*graph.Node
}

// ErrNoGradient is returned when Grad-CAM is asked of a model without a class score to
// differentiate (a kNN arm's encoder) or whose encoder has no feature maps to weigh.
var ErrNoGradient = errors.New("explain: no class-score gradient for this model")

// Model is what an arm produced, in the one form every explanation reads: an encoder (its
// variables under models.EncoderScope of Store) and, for classifiers, a linear head (under
// supervised.HeadScope of the same Store) on the encoder's features. Build it with
// FromClassifier, FromProbe or FromEncoder.
type Model struct {
	Backend    compute.Backend
	Encoder    models.Encoder
	Store      *model.Store
	NumClasses int // 0 without a head
	// head builds the logits [B, NumClasses] on features [B, F]; nil without a head.
	head func(scope *model.Scope, feats *graph.Node) *graph.Node
}

// HasHead tells whether the model has a class score (Grad-CAM needs one).
func (m *Model) HasHead() bool { return m.head != nil }

// FromClassifier explains a classifier trained on images: the supervised arm's and the
// fine-tuning arm's (supervised.Train, eval.FineTune). Its store is used as it is (read
// only).
func FromClassifier(c *supervised.Classifier) (*Model, error) {
	if c == nil || c.Store == nil {
		return nil, errors.New("explain: nil classifier")
	}
	if c.Encoder == nil {
		return nil, errors.New("explain: the classifier reads features, not images (a linear probe's head): use FromProbe with the probe")
	}
	return &Model{Backend: c.Backend(), Encoder: c.Encoder, Store: c.Store, NumClasses: c.NumClasses, head: c.ApplyHead}, nil
}

// FromProbe explains a linear probe (the linear arm): its frozen encoder and its head live
// in two stores, so their variables are copied into one new store, where the head on the
// encoder's features makes the probe's logits.
func FromProbe(p *eval.Probe) (*Model, error) {
	if p == nil || p.Head == nil || p.Pretrained == nil || p.Encoder == nil {
		return nil, errors.New("explain: the probe needs its head, its pretrained store and its encoder")
	}
	store := model.NewStore()
	if err := copyScope(p.Pretrained, store, "/"+models.EncoderScope); err != nil {
		return nil, fmt.Errorf("explain: probe encoder: %w", err)
	}
	if err := copyScope(p.Head.Store, store, "/"+supervised.HeadScope); err != nil {
		return nil, fmt.Errorf("explain: probe head: %w", err)
	}
	return &Model{Backend: p.Head.Backend(), Encoder: p.Encoder, Store: store, NumClasses: p.Head.NumClasses, head: p.Head.ApplyHead}, nil
}

// FromEncoder explains an encoder without a head: the kNN arm's (a vote among neighbours has
// no gradient to weigh feature maps with, so it gets no Grad-CAM), or any pretrained
// encoder. Attention rollout, which reads only the encoder, works on it when it is a ViT.
func FromEncoder(backend compute.Backend, store *model.Store, enc models.Encoder) (*Model, error) {
	if backend == nil || store == nil || enc == nil {
		return nil, errors.New("explain: FromEncoder needs a backend, a store and an encoder")
	}
	return &Model{Backend: backend, Encoder: enc, Store: store}, nil
}

// copyScope clones every variable under prefix of one store into another; it fails when
// there is none (an encoder never built, a head never trained).
func copyScope(from, to *model.Store, prefix string) error {
	n, err := trainutil.CopyVariables(from, to, trainutil.InScope(prefix))
	if err == nil && n == 0 {
		err = fmt.Errorf("no variables under %s", prefix)
	}
	return err
}
