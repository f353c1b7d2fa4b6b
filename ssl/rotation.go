package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/models"
)

// Rotation is RotNet (Gidaris, Singh & Komodakis, ICLR 2018): the encoder learns by
// predicting by which of 0°, 90°, 180° or 270° an image was rotated, a 4-way
// cross-entropy on a classifier over the encoder's features.
//
// Defaults (NewRotation): every image is shown at all four rotations in the same batch
// (the paper's setting: its implementation details report it better than sampling one
// rotation per image; the encoder batch is 4B, with batch-norm statistics over all four
// rotations), and a linear classifier on the features (the features themselves must carry
// the rotation). Images must be square.
//
// Beware of orientation in medical images: a rotated chest X-ray is easy to recognise from
// anatomy, which is the point; but do not also use augment.Rotate90 in the view pipeline,
// which would make the labels ambiguous.
type Rotation struct {
	// AllRotations shows each image at all four angles (4B encoder inputs per batch of B);
	// false draws one angle per image from the scope's random state (B inputs).
	AllRotations bool
	// Hidden lists the classifier's hidden widths (Linear-BN-ReLU each); none means a
	// linear classifier.
	Hidden []int
}

// NewRotation returns RotNet with the paper's defaults: all four rotations per image and a
// linear classifier.
func NewRotation() *Rotation { return &Rotation{AllRotations: true} }

// Name implements Method.
func (m *Rotation) Name() string { return "rotation" }

// Views implements Method: one view, which the method rotates itself.
func (m *Rotation) Views() int { return 1 }

// Loss implements Method.
func (m *Rotation) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	images, labels := rotationBatch(scope, views[0], m.AllRotations)
	feats := enc.Encode(EncoderScope(scope), images)
	dims := append(append([]int{}, m.Hidden...), 4)
	logits := models.MLP(MethodScope(scope, m).In("classifier"), feats, dims...).Done()
	return pretextCrossEntropy(logits, labels)
}

// rotationBatch returns the rotated images and their labels k (rotation by k·90°
// counterclockwise). With all, the result is [4B, H, W, C], the four rotations of the
// batch one after the other (rows k·B … k·B+B−1 have label k); else [B, H, W, C] with one
// angle per image drawn from the scope's random state.
func rotationBatch(scope *model.Scope, x *graph.Node, all bool) (images, labels *graph.Node) {
	g := x.Graph()
	b := x.Shape().Dimensions[0]
	if !all {
		k := scope.RandomIntN(g, int32(4), shapes.Make(dtypes.Int32, b))
		return augment.Rot90(x, k), k
	}
	rotated := make([]*graph.Node, 4)
	for k := range rotated {
		angle := make([]int32, b)
		for i := range angle {
			angle[i] = int32(k)
		}
		rotated[k] = augment.Rot90(x, graph.Const(g, angle))
	}
	labels = graph.Reshape(graph.Iota(g, shapes.Make(dtypes.Int32, 4, b), 0), 4*b)
	return graph.Concatenate(rotated, 0), labels
}

func init() { Register("rotation", func() Method { return NewRotation() }) }
