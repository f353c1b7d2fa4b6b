package metrics

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/medssl/medssl/data/nifti"
	"github.com/medssl/medssl/internal/testdata"
)

// naiveSurface: a voxel of the mask is on the surface when one of its six face neighbours
// along an axis longer than 1 is outside the grid or outside the mask.
func naiveSurface(m []bool, d [3]int) []bool {
	out := make([]bool, len(m))
	for k := range d[2] {
		for j := range d[1] {
			for i := range d[0] {
				if !m[i+d[0]*(j+d[1]*k)] {
					continue
				}
				for _, o := range [][3]int{{-1, 0, 0}, {1, 0, 0}, {0, -1, 0}, {0, 1, 0}, {0, 0, -1}, {0, 0, 1}} {
					p := [3]int{i + o[0], j + o[1], k + o[2]}
					skip := false
					for a := range 3 {
						skip = skip || (o[a] != 0 && d[a] == 1)
					}
					if skip {
						continue
					}
					if p[0] < 0 || p[1] < 0 || p[2] < 0 || p[0] >= d[0] || p[1] >= d[1] || p[2] >= d[2] || !m[p[0]+d[0]*(p[1]+d[1]*p[2])] {
						out[i+d[0]*(j+d[1]*k)] = true
					}
				}
			}
		}
	}
	return out
}

// naiveDirected: for each surface voxel of a, the smallest distance in mm to any surface
// voxel of b, by trying them all.
func naiveDirected(a, b []bool, g Grid) []float64 {
	d := g.Dims
	pos := func(n int) [3]float64 {
		return [3]float64{float64(n%d[0]) * g.Spacing[0], float64(n/d[0]%d[1]) * g.Spacing[1], float64(n/(d[0]*d[1])) * g.Spacing[2]}
	}
	sa, sb := naiveSurface(a, d), naiveSurface(b, d)
	var out []float64
	for i, s := range sa {
		if !s {
			continue
		}
		best := math.Inf(1)
		for j, t := range sb {
			if t {
				p, q := pos(i), pos(j)
				best = min(best, math.Sqrt((p[0]-q[0])*(p[0]-q[0])+(p[1]-q[1])*(p[1]-q[1])+(p[2]-q[2])*(p[2]-q[2])))
			}
		}
		out = append(out, best)
	}
	return out
}

// naivePercentile is numpy.percentile with linear interpolation.
func naivePercentile(x []float64, q float64) float64 {
	s := append([]float64(nil), x...)
	sort.Float64s(s)
	h := (float64(len(s)) - 1) * q / 100
	lo, hi := math.Floor(h), math.Ceil(h)
	return s[int(lo)] + (h-lo)*(s[int(hi)]-s[int(lo)])
}

func randomMask(rng *rand.Rand, n int, p float64) []bool {
	m := make([]bool, n)
	for i := range m {
		m[i] = rng.Float64() < p
	}
	return m
}

// TestDistanceTransformMatchesBruteForce on random sites, anisotropic spacing, 3D and 2D.
func TestDistanceTransformMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, g := range []Grid{{[3]int{7, 5, 4}, [3]float64{1, 2.5, 0.7}}, {[3]int{9, 6, 1}, [3]float64{0.5, 1, 1}}, {[3]int{1, 1, 8}, [3]float64{1, 1, 3}}} {
		for trial := range 20 {
			n := g.Dims[0] * g.Dims[1] * g.Dims[2]
			sites := randomMask(rng, n, 0.1)
			if trial == 0 {
				sites = make([]bool, n) // no site: +Inf everywhere
			}
			got, err := DistanceTransform(sites, g)
			if err != nil {
				t.Fatal(err)
			}
			all := make([]bool, n)
			for i := range all {
				all[i] = true
			}
			for i := range n {
				want := math.Inf(1)
				pi := [3]int{i % g.Dims[0], i / g.Dims[0] % g.Dims[1], i / (g.Dims[0] * g.Dims[1])}
				for j, s := range sites {
					if s {
						pj := [3]int{j % g.Dims[0], j / g.Dims[0] % g.Dims[1], j / (g.Dims[0] * g.Dims[1])}
						var d2 float64
						for a := range 3 {
							d := float64(pi[a]-pj[a]) * g.Spacing[a]
							d2 += d * d
						}
						want = min(want, math.Sqrt(d2))
					}
				}
				if !(math.Abs(got[i]-want) < 1e-9 || (math.IsInf(want, 1) && math.IsInf(got[i], 1))) {
					t.Fatalf("grid %v trial %d voxel %d: distance %v, brute force %v", g.Dims, trial, i, got[i], want)
				}
			}
		}
	}
}

// TestHD95MatchesNaive compares HD95 (and the full Hausdorff distance) with brute-force
// surfaces, all-pairs distances and numpy's percentile, on random blobs in 3D and 2D
// grids with anisotropic spacing, and checks the empty-mask conventions.
func TestHD95MatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range []Grid{{[3]int{8, 7, 5}, [3]float64{1, 1.5, 3}}, {[3]int{12, 9, 1}, [3]float64{0.8, 1, 1}}} {
		n := g.Dims[0] * g.Dims[1] * g.Dims[2]
		for trial := range 25 {
			truth, pred := randomMask(rng, n, 0.3), randomMask(rng, n, 0.2+0.02*float64(trial))
			for _, q := range []float64{95, 100, 50} {
				got, err := HausdorffPercentile(truth, pred, g, q)
				if err != nil {
					t.Fatal(err)
				}
				want := max(naivePercentile(naiveDirected(truth, pred, g), q), naivePercentile(naiveDirected(pred, truth, g), q))
				if math.Abs(got-want) > 1e-9 {
					t.Fatalf("grid %v trial %d q %v: HD %v, naive %v", g.Dims, trial, q, got, want)
				}
			}
		}
		empty, some := make([]bool, n), make([]bool, n)
		some[3] = true
		if v, err := HD95(empty, empty, g); err != nil || v != 0 {
			t.Errorf("both empty: %v, %v; want 0 (convention)", v, err)
		}
		if v, _ := HD95(some, empty, g); !math.IsInf(v, 1) {
			t.Errorf("empty prediction: %v, want +Inf (convention)", v)
		}
		if v, _ := HD95(empty, some, g); !math.IsInf(v, 1) {
			t.Errorf("empty truth: %v, want +Inf (convention)", v)
		}
	}
	// Two single voxels 3 steps apart along an axis of spacing 2 mm: 6 mm.
	g := Grid{[3]int{5, 1, 1}, [3]float64{2, 1, 1}}
	if v, err := HD95([]bool{true, false, false, false, false}, []bool{false, false, false, true, false}, g); err != nil || v != 6 {
		t.Errorf("single voxels: %v, %v; want 6", v, err)
	}
	if _, err := HD95([]bool{true}, []bool{true, false}, Grid{[3]int{1, 1, 1}, [3]float64{1, 1, 1}}); err == nil {
		t.Error("masks of the wrong size: no error")
	}
}

// TestHD95RealLabelsMatchScipy: anterior (label 1) against posterior (label 2)
// hippocampus of a real label volume, with an anisotropic spacing (1, 1.5, 2.5) mm put on
// its grid, equals the value of MONAI's procedure written with scipy 1.10.1
// (internal/testdata/files/hippocampus):
//
//	edges(m) = m ^ scipy.ndimage.binary_erosion(m)
//	d_tp = distance_transform_edt(~edges(p), sampling=sp)[edges(t)], d_pt likewise
//	max(np.percentile(d_tp, 95), np.percentile(d_pt, 95)) -> 35.6454750811869
//	max(d_tp.max(), d_pt.max())                            -> 38.66846260197062
func TestHD95RealLabelsMatchScipy(t *testing.T) {
	v, err := nifti.Read(testdata.Path(t, "hippocampus/labels/hippocampus_165.nii.gz"))
	if err != nil {
		t.Fatal(err)
	}
	truth, pred := make([]bool, len(v.Data)), make([]bool, len(v.Data))
	for i, x := range v.Data {
		truth[i], pred[i] = x == 1, x == 2
	}
	g := Grid{Dims: [3]int{v.Dims[0], v.Dims[1], v.Dims[2]}, Spacing: [3]float64{1, 1.5, 2.5}}
	for _, c := range []struct{ q, want float64 }{{95, 35.6454750811869}, {100, 38.66846260197062}} {
		got, err := HausdorffPercentile(truth, pred, g, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("HD%v = %.12f, scipy %.12f", c.q, got, c.want)
		}
	}
}

// TestScoreVolumeAndSummary: per-class scores equal the binary metrics of each class, and
// the summary averages over volumes, keeps infinite HD95 apart and leaves background out
// of the means.
func TestScoreVolumeAndSummary(t *testing.T) {
	g := Grid{[3]int{4, 3, 1}, [3]float64{1, 1, 1}}
	truth := []uint8{0, 1, 1, 0, 0, 1, 2, 2, 0, 0, 0, 0}
	pred := []uint8{0, 1, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0}
	s, err := ScoreVolume(truth, pred, 3, g)
	if err != nil {
		t.Fatal(err)
	}
	for k := range 3 {
		tk, pk := make([]bool, 12), make([]bool, 12)
		for i := range truth {
			tk[i], pk[i] = int(truth[i]) == k, int(pred[i]) == k
		}
		d, _ := Dice(tk, pk)
		j, _ := IoU(tk, pk)
		h, _ := HD95(tk, pk, g)
		if s.Dice[k] != d || s.IoU[k] != j || s.HD95[k] != h {
			t.Errorf("class %d: %v %v %v, want %v %v %v", k, s.Dice[k], s.IoU[k], s.HD95[k], d, j, h)
		}
	}
	// Class 2 missing from the second volume's prediction: HD95 +Inf there.
	s2, _ := ScoreVolume(truth, []uint8{0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0}, 3, g)
	sum, err := SummariseSegmentation([]VolumeScores{s, s2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.HD95Inf[2] != 1 || sum.HD95[2] != s.HD95[2] || sum.Dice[1] != (s.Dice[1]+s2.Dice[1])/2 {
		t.Errorf("summary %+v", sum)
	}
	if want := (sum.Dice[1] + sum.Dice[2]) / 2; math.Abs(sum.MeanDice-want) > 1e-15 {
		t.Errorf("mean Dice %v, want %v", sum.MeanDice, want)
	}
	m := sum.Map()
	if m["hd95_inf_2"] != 1 || m["dice"] != sum.MeanDice || m["dice_0"] != sum.Dice[0] {
		t.Errorf("Map() = %v", m)
	}
	if _, err := ScoreVolume(truth, pred, 2, g); err == nil {
		t.Error("class 2 of 2 classes: no error")
	}
}
