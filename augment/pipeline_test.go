package augment_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl/augment"
)

func TestDefaultsShapeAndRange(t *testing.T) {
	x := loadBreast(t, 32)
	for name, p := range map[string]augment.Pipeline{
		"SimCLR": augment.SimCLRDefault(), "Medical": augment.MedicalDefault(), "Supervised": augment.SupervisedDefault(),
	} {
		out := run(t, 1, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			y := p.Apply(scope, in[0])
			if !y.Shape().Equal(in[0].Shape()) {
				t.Fatalf("%s: output shape %s, input %s", name, y.Shape(), in[0].Shape())
			}
			return []*graph.Node{y}
		}, x.tensor())[0]
		changed := 0
		for i, v := range out {
			if math.IsNaN(float64(v)) || v < 0 || v > 1 {
				t.Fatalf("%s: value %g at %d outside [0, 1]", name, v, i)
			}
		}
		ob := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: out}
		for b := 0; b < x.B; b++ {
			if maxAbsDiff(t, ob.sample(b), x.sample(b)) > 1e-3 {
				changed++
			}
		}
		if changed < x.B*3/4 {
			t.Errorf("%s: only %d of %d samples changed", name, changed, x.B)
		}
	}
}

func TestSeedsAndViews(t *testing.T) {
	x := loadBreast(t, 16)
	p := augment.MedicalDefault()
	views := func(seed int64) [][]float32 {
		return run(t, seed, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			return augment.Views(scope, in[0], 2, p)
		}, x.tensor())
	}
	a, b, c := views(42), views(42), views(43)
	if d := maxAbsDiff(t, a[0], b[0]) + maxAbsDiff(t, a[1], b[1]); d != 0 {
		t.Errorf("same seed gave different views (max diff %g)", d)
	}
	if d := maxAbsDiff(t, a[0], c[0]); d < 0.1 {
		t.Errorf("different seeds gave nearly the same view (max diff %g)", d)
	}
	// The two views of one call differ in every sample.
	va := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: a[0]}
	vb := batch{B: x.B, H: x.H, W: x.W, C: x.C, Data: a[1]}
	for i := 0; i < x.B; i++ {
		if maxAbsDiff(t, va.sample(i), vb.sample(i)) < 1e-3 {
			t.Errorf("sample %d: the two views are the same", i)
		}
	}
}

func TestMultiChannelSameGeometry(t *testing.T) {
	// Channels (x, x/2, x/4): geometric transforms are linear in the pixel values, so the
	// ratios between channels survive only if all channels of a sample get the same geometry.
	g := loadBreast(t, 16)
	x := newBatch(16, 28, 28, 3)
	for i, v := range g.Data {
		x.Data[3*i], x.Data[3*i+1], x.Data[3*i+2] = v, v/2, v/4
	}
	geo := augment.Pipeline{
		RotationP: 1, Rotation: augment.NewRandomRotation(),
		CropP: 1, Crop: augment.NewRandomResizedCrop(),
		HorizontalFlipP: 0.5, VerticalFlipP: 0.5, Rotate90: true,
		BlurP: 1, Blur: augment.NewGaussianBlur(),
	}
	got := apply(t, 5, x, geo)
	for i := 0; i < len(got.Data); i += 3 {
		c0, c1, c2 := got.Data[i], got.Data[i+1], got.Data[i+2]
		if math.Abs(float64(c1-c0/2)) > 1e-5 || math.Abs(float64(c2-c0/4)) > 1e-5 {
			t.Fatalf("pixel %d: channels (%g, %g, %g) lost the ratios 1 : 1/2 : 1/4", i/3, c0, c1, c2)
		}
	}
	if maxAbsDiff(t, got.Data, x.Data) < 0.1 {
		t.Fatalf("geometric pipeline left the images nearly unchanged")
	}
}
