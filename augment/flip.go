package augment

import (
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// HorizontalFlip mirrors each image left-right with probability P (per sample).
//
// Off by default in MedicalDefault-style pipelines where laterality matters: a flipped
// chest X-ray puts the heart on the wrong side, which is a different (abnormal) anatomy.
type HorizontalFlip struct {
	P float64 // probability per sample; torchvision/SimCLR default 0.5
}

// Apply implements Transform.
func (t HorizontalFlip) Apply(scope *model.Scope, images *Node) *Node {
	checkImages("HorizontalFlip", images)
	if t.P <= 0 {
		return images
	}
	return FlipWhere(images, coin(scope, images, t.P), 2)
}

// VerticalFlip mirrors each image top-bottom with probability P (per sample).
type VerticalFlip struct {
	P float64 // probability per sample
}

// Apply implements Transform.
func (t VerticalFlip) Apply(scope *model.Scope, images *Node) *Node {
	checkImages("VerticalFlip", images)
	if t.P <= 0 {
		return images
	}
	return FlipWhere(images, coin(scope, images, t.P), 1)
}

// FlipWhere reverses axis (1 = vertical, 2 = horizontal) of the samples of images [B, H, W, C]
// where mask [B] (Bool) is true.
func FlipWhere(images, mask *Node, axis int) *Node {
	checkImages("FlipWhere", images)
	return graph.Where(mask, graph.Reverse(images, axis), images)
}

// Rotate90 rotates each (square) image by a random multiple of 90°, k ~ U{0, 1, 2, 3}
// per sample. Useful where orientation carries no meaning (histology, dermoscopy, cell
// images); wrong for chest X-ray or ultrasound, whose orientation is fixed by protocol.
type Rotate90 struct{}

// Apply implements Transform.
func (Rotate90) Apply(scope *model.Scope, images *Node) *Node {
	b, _, _, _ := checkImages("Rotate90", images)
	k := scope.RandomIntN(images.Graph(), int32(4), shapesInt32(b))
	return Rot90(images, k)
}

// Rot90 rotates sample b of images [B, H, W, C] (H == W) counterclockwise by k[b]·90°,
// for k [B] integers in {0, 1, 2, 3}, like numpy.rot90(img, k) on the (H, W) axes:
// one step gives out[i, j] = img[j, W−1−i].
func Rot90(images, k *Node) *Node {
	_, h, w, _ := checkImages("Rot90", images)
	if h != w {
		exceptions.Panicf("augment.Rot90: images must be square, got %s", images.Shape())
	}
	// k = 1, 2, 3 are Tᵀ∘Rev_w, Rev_h∘Rev_w and Tᵀ∘Rev_h: flip first, then transpose when k is odd.
	g := images.Graph()
	k = graph.ConvertDType(k, dtypesInt32)
	is := func(v int) *Node { return graph.Equal(k, graph.Scalar(g, dtypesInt32, v)) }
	flipW := graph.LogicalOr(is(1), is(2))
	flipH := graph.LogicalOr(is(2), is(3))
	odd := graph.LogicalOr(is(1), is(3))
	y := graph.Where(flipW, graph.Reverse(images, 2), images)
	y = graph.Where(flipH, graph.Reverse(y, 1), y)
	return graph.Where(odd, graph.Transpose(y, 1, 2), y)
}
