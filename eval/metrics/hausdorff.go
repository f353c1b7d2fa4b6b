package metrics

import (
	"fmt"
	"math"
	"slices"
)

// Grid is the voxel grid of a mask: Dims[0]·Dims[1]·Dims[2] voxels, voxel (i, j, k) at
// index i + Dims[0]·(j + Dims[1]·k) (the first index fastest, as data.Volume), Spacing the
// distance in mm between neighbours along each index. A 2D mask is a grid with Dims[2] = 1.
type Grid struct {
	Dims    [3]int
	Spacing [3]float64
}

func (g Grid) check(masks ...[]bool) error {
	n := 1
	for a, d := range g.Dims {
		if d <= 0 {
			return fmt.Errorf("%w: grid dims %v", ErrShape, g.Dims)
		}
		if s := g.Spacing[a]; !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: grid spacing %v, want finite and > 0", ErrParam, g.Spacing)
		}
		n *= d
	}
	for _, m := range masks {
		if len(m) != n {
			return fmt.Errorf("%w: mask of %d voxels on a grid %v of %d", ErrShape, len(m), g.Dims, n)
		}
	}
	return nil
}

// Surface returns the surface of a binary mask: its voxels with at least one face
// neighbour (6-connectivity; 4 on a 2D grid) outside the mask, where a neighbour beyond
// the grid's edge counts as outside and axes of length 1 have no neighbours (so a 2D
// mask's surface is its contour, not all of it). This is the edge MONAI and the DeepMind
// surface-distance library take (the mask minus its erosion, the grid's border outside).
func Surface(mask []bool, g Grid) ([]bool, error) {
	if err := g.check(mask); err != nil {
		return nil, err
	}
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	out := make([]bool, len(mask))
	at := func(i, j, k int) bool { return mask[i+nx*(j+ny*k)] }
	for k := range nz {
		for j := range ny {
			for i := range nx {
				if !at(i, j, k) {
					continue
				}
				edge := false
				for _, d := range [3][4]int{{0, nx, i, 1}, {1, ny, j, 1}, {2, nz, k, 1}} {
					axis, n, p := d[0], d[1], d[2]
					if n == 1 {
						continue
					}
					for _, q := range [2]int{p - 1, p + 1} {
						if q < 0 || q >= n {
							edge = true
							continue
						}
						ii, jj, kk := i, j, k
						switch axis {
						case 0:
							ii = q
						case 1:
							jj = q
						case 2:
							kk = q
						}
						if !at(ii, jj, kk) {
							edge = true
						}
					}
				}
				out[i+nx*(j+ny*k)] = edge
			}
		}
	}
	return out, nil
}

// DistanceTransform returns, for every voxel, the Euclidean distance in mm (with the grid's
// spacing) to the nearest voxel where sites is true; +Inf everywhere when there is none.
// It is exact: the separable squared-distance transform of Felzenszwalb & Huttenlocher
// ("Distance transforms of sampled functions", 2012), one lower envelope of parabolas per
// grid line and axis, O(voxels).
func DistanceTransform(sites []bool, g Grid) ([]float64, error) {
	if err := g.check(sites); err != nil {
		return nil, err
	}
	d := make([]float64, len(sites))
	for i, s := range sites {
		if s {
			d[i] = 0
		} else {
			d[i] = math.Inf(1)
		}
	}
	nx, ny, nz := g.Dims[0], g.Dims[1], g.Dims[2]
	strides := [3]int{1, nx, nx * ny}
	maxN := max(nx, ny, nz)
	line := make([]float64, maxN)
	out := make([]float64, maxN)
	env := newEnvelope(maxN)
	for axis := range 3 {
		n, stride := g.Dims[axis], strides[axis]
		w2 := g.Spacing[axis] * g.Spacing[axis]
		// Visit every line along axis: its start offsets are the grid points with index 0
		// along axis.
		for start := range len(d) {
			if (start/stride)%n != 0 {
				continue
			}
			for p := range n {
				line[p] = d[start+p*stride]
			}
			env.transform(line[:n], out[:n], w2)
			for p := range n {
				d[start+p*stride] = out[p]
			}
		}
	}
	for i, v := range d {
		d[i] = math.Sqrt(v)
	}
	return d, nil
}

// envelope holds the buffers of the 1D transform.
type envelope struct {
	v []int     // sites of the parabolas of the lower envelope
	z []float64 // boundaries between them
}

func newEnvelope(n int) *envelope { return &envelope{v: make([]int, n), z: make([]float64, n+1)} }

// transform sets out[p] = min_q f[q] + w2·(p−q)² (+Inf when every f[q] is +Inf).
func (e *envelope) transform(f, out []float64, w2 float64) {
	n := len(f)
	k := -1
	for q := range n {
		if math.IsInf(f[q], 1) {
			continue
		}
		for k >= 0 {
			vk := e.v[k]
			s := ((f[q] + w2*float64(q*q)) - (f[vk] + w2*float64(vk*vk))) / (2 * w2 * float64(q-vk))
			if s <= e.z[k] {
				k--
				continue
			}
			k++
			e.v[k], e.z[k] = q, s
			break
		}
		if k < 0 {
			k = 0
			e.v[0], e.z[0] = q, math.Inf(-1)
		}
		e.z[k+1] = math.Inf(1)
	}
	if k < 0 {
		for p := range out {
			out[p] = math.Inf(1)
		}
		return
	}
	j := 0
	for p := range n {
		for e.z[j+1] < float64(p) {
			j++
		}
		dp := float64(p - e.v[j])
		out[p] = w2*dp*dp + f[e.v[j]]
	}
}

// SurfaceDistances returns the distances in mm from every surface voxel of a (see
// Surface) to the nearest surface voxel of b, in index order: the directed surface
// distances of a to b. It is nil when a is empty, +Inf values when only b is.
func SurfaceDistances(a, b []bool, g Grid) ([]float64, error) {
	sa, err := Surface(a, g)
	if err != nil {
		return nil, err
	}
	sb, err := Surface(b, g)
	if err != nil {
		return nil, err
	}
	dt, err := DistanceTransform(sb, g)
	if err != nil {
		return nil, err
	}
	var out []float64
	for i, s := range sa {
		if s {
			out = append(out, dt[i])
		}
	}
	return out, nil
}

// HausdorffPercentile returns the q-th percentile symmetric Hausdorff distance between two
// binary masks on grid g, in mm:
//
//	HD_q = max(P_q(d(T→P)), P_q(d(P→T)))
//
// where d(A→B) are the directed surface distances (SurfaceDistances) and P_q the q-th
// percentile with linear interpolation between order statistics (numpy's default), as
// MONAI's compute_hausdorff_distance and DeepMind's compute_robust_hausdorff define it
// (some tools, e.g. medpy's hd95, take one percentile of both directions pooled instead).
// q = 100 is the Hausdorff distance.
//
// Empty masks: both empty gives 0 (nothing to find, nothing found, as Dice's 1); exactly
// one empty gives +Inf (no surface to reach: the supremum of distances to an empty set).
// Callers that average HD over volumes should count the infinite ones apart (see
// SegmentationSummary).
func HausdorffPercentile(truth, pred []bool, g Grid, q float64) (float64, error) {
	if !(q >= 0 && q <= 100) {
		return 0, fmt.Errorf("%w: percentile %v, want [0, 100]", ErrParam, q)
	}
	if err := g.check(truth, pred); err != nil {
		return 0, err
	}
	anyT, anyP := slices.Contains(truth, true), slices.Contains(pred, true)
	switch {
	case !anyT && !anyP:
		return 0, nil
	case anyT != anyP:
		return math.Inf(1), nil
	}
	dtp, err := SurfaceDistances(truth, pred, g)
	if err != nil {
		return 0, err
	}
	dpt, err := SurfaceDistances(pred, truth, g)
	if err != nil {
		return 0, err
	}
	return max(percentile(dtp, q), percentile(dpt, q)), nil
}

// HD95 is HausdorffPercentile at q = 95.
func HD95(truth, pred []bool, g Grid) (float64, error) {
	return HausdorffPercentile(truth, pred, g, 95)
}

// percentile is numpy.percentile(x, q) (linear interpolation) of a non-empty slice; it
// sorts x.
func percentile(x []float64, q float64) float64 {
	slices.Sort(x)
	pos := q / 100 * float64(len(x)-1)
	lo := int(math.Floor(pos))
	if lo >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[lo] + (pos-float64(lo))*(x[lo+1]-x[lo])
}
