package augment

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Node is an alias for graph.Node, to keep signatures short.
type Node = graph.Node

// Transform is one random image augmentation, applied independently per sample.
//
// Apply takes images [B, H, W, C] in [0, 1] and returns a batch of the same shape
// (except transforms that change the spatial size, such as RandomResizedCrop with an
// explicit output size), drawing its random parameters from scope's RNG.
type Transform interface {
	Apply(scope *model.Scope, images *Node) *Node
}

// Func adapts a plain function to a Transform.
type Func func(scope *model.Scope, images *Node) *Node

// Apply implements Transform.
func (f Func) Apply(scope *model.Scope, images *Node) *Node { return f(scope, images) }

// Compose applies the transforms in order. Nil transforms are skipped.
func Compose(ts ...Transform) Transform {
	return Func(func(scope *model.Scope, images *Node) *Node {
		for _, t := range ts {
			if t != nil {
				images = t.Apply(scope, images)
			}
		}
		return images
	})
}

// RandomApply applies t to each sample with probability p (drawn per sample), and keeps
// the other samples unchanged. p <= 0 returns the input untouched and p >= 1 always
// applies t; neither draws a coin.
//
// t is computed on the whole batch and the result is selected per sample, so t must keep
// the image shape.
func RandomApply(p float64, t Transform) Transform {
	return Func(func(scope *model.Scope, images *Node) *Node {
		if p <= 0 || t == nil {
			return images
		}
		if p >= 1 {
			return t.Apply(scope, images)
		}
		mask := coin(scope, images, p)
		out := t.Apply(scope, images)
		if !out.Shape().Equal(images.Shape()) {
			exceptions.Panicf("augment.RandomApply: transform changed the shape from %s to %s", images.Shape(), out.Shape())
		}
		return graph.Where(mask, out, images)
	})
}

// Views returns n independently augmented views of images: t is applied n times, each
// drawing fresh random parameters, as multi-view SSL methods (SimCLR, BYOL, DINO) need.
func Views(scope *model.Scope, images *Node, n int, t Transform) []*Node {
	views := make([]*Node, n)
	for i := range views {
		views[i] = t.Apply(scope, images)
	}
	return views
}

// checkImages panics unless x is a float [B, H, W, C] batch; it returns B, H, W, C.
func checkImages(name string, x *Node) (b, h, w, c int) {
	if x.Rank() != 4 || !x.DType().IsFloat() {
		exceptions.Panicf("augment.%s: images must be float [B, H, W, C], got %s", name, x.Shape())
	}
	d := x.Shape().Dimensions
	return d[0], d[1], d[2], d[3]
}

// uniform draws values uniformly in [lo, hi) with the given dims and dtype.
func uniform(scope *model.Scope, g *graph.Graph, dtype dtypes.DType, lo, hi float64, dims ...int) *Node {
	u := scope.RandomUniform(g, shapes.Make(dtype, dims...))
	if lo == 0 && hi == 1 {
		return u
	}
	return graph.AddScalar(graph.MulScalar(u, hi-lo), lo)
}

// coin draws a per-sample Bool [B] that is true with probability p.
func coin(scope *model.Scope, images *Node, p float64) *Node {
	b := images.Shape().Dimensions[0]
	u := scope.RandomUniform(images.Graph(), shapes.Make(images.DType(), b))
	return graph.LessThan(u, graph.Scalar(images.Graph(), images.DType(), p))
}

// perSample reshapes a [B] vector to [B, 1, 1, 1] so it broadcasts over images.
func perSample(v *Node) *Node {
	return graph.Reshape(v, v.Shape().Dimensions[0], 1, 1, 1)
}

// Clip limits values to [0, 1]. As a Transform it draws no random numbers.
type Clip struct{}

// Apply implements Transform.
func (Clip) Apply(_ *model.Scope, images *Node) *Node { return graph.ClipScalar(images, 0, 1) }

const dtypesInt32 = dtypes.Int32

func shapesInt32(dims ...int) shapes.Shape { return shapes.Make(dtypes.Int32, dims...) }

func shapesOf(dt dtypes.DType, dims ...int) shapes.Shape { return shapes.Make(dt, dims...) }

// normal draws standard normal values of the given shape with Box–Muller, using both the
// cosine and the sine branch so it needs half the uniform draws of scope.RandomNormal
// (the random bits dominate its cost on the pure-Go backend).
func normal(scope *model.Scope, g *graph.Graph, shape shapes.Shape) *Node {
	n := shape.Size()
	half := (n + 1) / 2
	u := scope.RandomUniform(g, shapes.Make(shape.DType, 2, half))
	u1 := graph.Max(graph.Reshape(graph.Slice(u, graph.AxisElem(0)), half), graph.Const(g, shape.DType.SmallestNonZeroValueForDType()))
	u2 := graph.MulScalar(graph.Reshape(graph.Slice(u, graph.AxisElem(1)), half), 2*math.Pi)
	r := graph.Sqrt(graph.MulScalar(graph.Log(u1), -2))
	z := graph.Concatenate([]*Node{graph.Mul(r, graph.Cos(u2)), graph.Mul(r, graph.Sin(u2))}, 0)
	if 2*half != n {
		z = graph.Slice(z, graph.AxisRange(0, n))
	}
	return graph.Reshape(z, shape.Dimensions...)
}
