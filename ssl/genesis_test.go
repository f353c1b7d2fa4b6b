package ssl

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// mriSlices returns the hippocampus fixtures' axial slices, 48×40, as a Split.
func mriSlices(t *testing.T) *data.Split {
	t.Helper()
	s, err := seg.LoadNIfTI(testdata.Path(t, "hippocampus"))
	if err != nil {
		t.Fatal(err)
	}
	sl, err := s.Slices(seg.DefaultSliceConfig(48, 40))
	if err != nil {
		t.Fatal(err)
	}
	return sl.Split()
}

// firstImages returns the first n images of a split as a tensor [n, H, W, C].
func firstImages(s *data.Split, n, skip int) *tensors.Tensor {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = skip + 3*i
	}
	return tensors.FromFlatDataAndDimensions(s.ImagesFloat32(idx), n, s.Height, s.Width, s.Channels)
}

func denseTestEncoder() models.ResNetConfig {
	return models.ResNetConfig{Depth: 18, Stem: models.SmallImageStem, BaseWidth: 8}
}

// bezierNaive samples the cubic Bézier curve with control points (0,0), (x1,y1), (x2,y2),
// (1,1) by its Bernstein form at knots points and interpolates v as numpy.interp does:
// binary search for the segment of the sorted x values.
func bezierNaive(v float64, ctrl [4]float64, flip bool, knots int) float64 {
	px := [4]float64{0, ctrl[0], ctrl[2], 1}
	py := [4]float64{0, ctrl[1], ctrl[3], 1}
	bern := func(p [4]float64, t float64) float64 {
		binom := [4]float64{1, 3, 3, 1}
		var s float64
		for i := range 4 {
			s += binom[i] * math.Pow(t, float64(i)) * math.Pow(1-t, float64(3-i)) * p[i]
		}
		return s
	}
	xs, ys := make([]float64, knots), make([]float64, knots)
	for k := range knots {
		t := float64(k) / float64(knots-1)
		xs[k] = bern(px, t)
		if flip {
			ys[k] = bern(py, 1-t)
		} else {
			ys[k] = bern(py, t)
		}
	}
	switch {
	case v <= xs[0]:
		return ys[0]
	case v >= xs[knots-1]:
		return ys[knots-1]
	}
	i := sort.SearchFloat64s(xs, v) // xs[i-1] < v <= xs[i]
	f := (v - xs[i-1]) / (xs[i] - xs[i-1])
	return ys[i-1] + f*(ys[i]-ys[i-1])
}

// TestBezierIntensityMatchesNaive: the in-graph curve equals numpy.interp on the Bernstein
// points, with and without the flip, at 0, 1 and random intensities; and 64 knots stay
// within 1e-3 of the reference's 100,000.
func TestBezierIntensityMatchesNaive(t *testing.T) {
	const b, h, w, knots = 4, 5, 6, 64
	rng := rand.New(rand.NewPCG(1, 1))
	img := make([]float32, b*h*w)
	for i := range img {
		img[i] = rng.Float32()
	}
	img[0], img[1], img[h*w] = 0, 1, 0
	ctrl := make([]float32, b*4)
	for i := range ctrl {
		ctrl[i] = rng.Float32()
	}
	flip := []bool{false, true, false, true}
	out, err := model.CallOnceN(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{BezierIntensity(in[0], in[1], in[2], knots)}
	}, tensors.FromFlatDataAndDimensions(img, b, h, w, 1), tensors.FromFlatDataAndDimensions(ctrl, b, 4), flip)
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	worst := 0.0
	for i, v := range img {
		bi := i / (h * w)
		c := [4]float64{float64(ctrl[4*bi]), float64(ctrl[4*bi+1]), float64(ctrl[4*bi+2]), float64(ctrl[4*bi+3])}
		want := bezierNaive(float64(v), c, flip[bi], knots)
		if math.Abs(float64(got[i])-want) > 2e-5 {
			t.Fatalf("image %d (flip %v) value %v: %v, naive %v", bi, flip[bi], v, got[i], want)
		}
		worst = max(worst, math.Abs(want-bezierNaive(float64(v), c, flip[bi], 100000)))
	}
	if got[0] != 0 || got[1] != 1 || got[h*w] != 1 {
		t.Errorf("end points: f(0) %v, f(1) %v, flipped f(0) %v; want 0, 1, 1", got[0], got[1], got[h*w])
	}
	t.Logf("64 knots against 100,000: largest difference %.2e", worst)
	if worst > 1e-3 {
		t.Errorf("64-knot curve is %v from the reference's 100,000-knot curve", worst)
	}
}

// TestLocalShuffleMatchesNaive: each block's pixels are permuted as perm says, channels
// together.
func TestLocalShuffleMatchesNaive(t *testing.T) {
	const b, h, w, c, s = 2, 8, 12, 2, 4
	rng := rand.New(rand.NewPCG(2, 2))
	img := make([]float32, b*h*w*c)
	for i := range img {
		img[i] = float32(i)
	}
	nb := (h / s) * (w / s)
	perm := make([]int32, b*nb*s*s)
	for k := 0; k < b*nb; k++ {
		for j, p := range rng.Perm(s * s) {
			perm[k*s*s+j] = int32(p)
		}
	}
	out, err := model.CallOnceN(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, in []*graph.Node) []*graph.Node {
		return []*graph.Node{LocalShuffle(in[0], s, in[1])}
	}, tensors.FromFlatDataAndDimensions(img, b, h, w, c), tensors.FromFlatDataAndDimensions(perm, b, nb, s*s))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float32](out[0])
	for bi := range b {
		for y := range h {
			for x := range w {
				k := (y/s)*(w/s) + x/s
				j := (y%s)*s + x%s
				p := int(perm[(bi*nb+k)*s*s+j])
				sy, sx := (y/s)*s+p/s, (x/s)*s+p%s
				for ch := range c {
					if got[((bi*h+y)*w+x)*c+ch] != img[((bi*h+sy)*w+sx)*c+ch] {
						t.Fatalf("pixel (%d, %d, %d) channel %d: %v, want pixel (%d, %d)", bi, y, x, ch, got[((bi*h+y)*w+x)*c+ch], sy, sx)
					}
				}
			}
		}
	}
}

// TestPaintingMatchesNaive: in-painting puts noise inside the active boxes, out-painting
// outside them; inactive boxes do nothing.
func TestPaintingMatchesNaive(t *testing.T) {
	const b, h, w = 2, 7, 9
	img, noise := make([]float32, b*h*w), make([]float32, b*h*w)
	for i := range img {
		img[i], noise[i] = float32(i), -float32(i)-1
	}
	boxes := []float32{1, 2, 3, 4, 0, 0, 7, 1, 5, 5, 2, 2 /* image 1 */, 2, 0, 2, 9, 0, 0, 1, 1, 3, 3, 3, 3}
	active := []float32{1, 1, 0, 1, 0, 1}
	in := func(bi, y, x int) bool {
		for k := range 3 {
			o := (bi*3 + k) * 4
			if active[bi*3+k] == 1 && float32(y) >= boxes[o] && float32(y) < boxes[o]+boxes[o+2] && float32(x) >= boxes[o+1] && float32(x) < boxes[o+1]+boxes[o+3] {
				return true
			}
		}
		return false
	}
	out, err := model.CallOnceN(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, a []*graph.Node) []*graph.Node {
		return []*graph.Node{Inpaint(a[0], a[1], a[2], a[3]), Outpaint(a[0], a[1], a[2], a[3])}
	}, tensors.FromFlatDataAndDimensions(img, b, h, w, 1), tensors.FromFlatDataAndDimensions(boxes, b, 3, 4),
		tensors.FromFlatDataAndDimensions(active, b, 3), tensors.FromFlatDataAndDimensions(noise, b, h, w, 1))
	if err != nil {
		t.Fatal(err)
	}
	inp, outp := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	for bi := range b {
		for y := range h {
			for x := range w {
				i := (bi*h+y)*w + x
				wantIn, wantOut := img[i], noise[i]
				if in(bi, y, x) {
					wantIn, wantOut = noise[i], img[i]
				}
				if inp[i] != wantIn || outp[i] != wantOut {
					t.Fatalf("pixel (%d, %d, %d): in-painted %v (want %v), out-painted %v (want %v)", bi, y, x, inp[i], wantIn, outp[i], wantOut)
				}
			}
		}
	}
}

// TestGenesisLossMatchesNaive: on real MRI slices, the method's loss is the mean squared
// difference, computed on the host, between its restoration and the undistorted images;
// the distortions change most images and the restoration is a sigmoid.
func TestGenesisLossMatchesNaive(t *testing.T) {
	images := firstImages(mriSlices(t), 8, 40)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(3))
	m := NewGenesis()
	out, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
		pred, target, distorted := m.Reconstruct(scope, denseTestEncoder(), in[0])
		return []*graph.Node{pred, target, distorted, GenesisLoss(pred, target)}
	}, images)
	if err != nil {
		t.Fatal(err)
	}
	pred, target, distorted := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
	var mse float64
	for i := range pred {
		if !(pred[i] > 0 && pred[i] < 1) {
			t.Fatalf("restoration value %v outside (0, 1)", pred[i])
		}
		d := float64(pred[i] - target[i])
		mse += d * d
	}
	mse /= float64(len(pred))
	if got := float64(tensors.ToScalar[float32](out[3])); math.Abs(got-mse) > 1e-6*mse {
		t.Errorf("GenesisLoss %v, naive %v", got, mse)
	}
	changed := 0
	n := 48 * 40
	for bi := range 8 {
		for k := bi * n; k < (bi+1)*n; k++ {
			if distorted[k] != target[k] {
				changed++
				break
			}
		}
	}
	if changed < 5 {
		t.Errorf("distortions changed %d of 8 images (each is untouched with probability 0.5·0.1·0.1)", changed)
	}
}

// Genesis on real MRI slices with a small ResNet U-Net: the loss falls within 40 steps.
func TestGenesisLossFallsOnRealSlices(t *testing.T) {
	cfg := testPretrain(denseTestEncoder(), NewGenesis(), 40, 16, 2)
	cfg.Augment, cfg.MonitorEpochs = nil, 0
	res, err := Pretrain(mriSlices(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	first, last := mean(res.Loss[:5]), mean(res.Loss[35:])
	t.Logf("genesis loss: first 5 steps %.4f, last 5 steps %.4f", first, last)
	if !(last < 0.7*first) {
		t.Errorf("loss did not fall by 30%%: first 5 steps %.4f, last 5 %.4f", first, last)
	}
}

func TestDenseMethodsNeedFeatureMaps(t *testing.T) {
	for _, name := range []string{"genesis", "simmim"} {
		m, err := New(name)
		if err != nil || m.Views() != 1 || m.Name() != name {
			t.Fatalf("New(%q) = %v, %v", name, m, err)
		}
		cfg := testPretrain(testutil.SmallEncoder{Width: 8}, m, 1, 8, 0)
		if _, err := Pretrain(mriSlices(t), cfg); err == nil || !strings.Contains(err.Error(), "feature maps") {
			t.Errorf("%s with an encoder without feature maps: err = %v", name, err)
		}
	}
}

// TestRandomRanksArePermutations: each row's ranks are the positions of its values in
// sorted order (ties by position), so always a permutation.
func TestRandomRanksArePermutations(t *testing.T) {
	vals := []float32{0.3, 0.1, 0.9, 0.1, 0.5, 0.5, 0.5, 0.2}
	out, err := model.CallOnce(medssl.MustBackend(), model.NewStore(), func(_ *model.Scope, x *graph.Node) *graph.Node {
		return RandomRanks(x)
	}, tensors.FromFlatDataAndDimensions(vals, 2, 4))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[int32](out)
	for r := range 2 {
		row := vals[4*r : 4*r+4]
		for j := range 4 {
			want := 0
			for i := range 4 {
				if row[i] < row[j] || (row[i] == row[j] && i < j) {
					want++
				}
			}
			if int(got[4*r+j]) != want {
				t.Errorf("row %d value %d: rank %d, want %d", r, j, got[4*r+j], want)
			}
		}
	}
	if want := []int32{2, 0, 3, 1, 1, 2, 3, 0}; !slices.Equal(got, want) {
		t.Errorf("ranks %v, want %v", got, want)
	}
}
