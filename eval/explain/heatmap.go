package explain

import (
	"math"
)

// Map is one image's explanation: a heat map at the image's resolution with values in
// [0, 1], and the coarse map it was upsampled from.
type Map struct {
	// Method is MethodGradCAM or MethodRollout.
	Method string
	// Height and Width are the image's; Heat holds Height·Width values in [0, 1], row-major.
	Height, Width int
	Heat          []float32
	// Grid is the map before upsampling, GridHeight·GridWidth values, row-major: Grad-CAM's
	// ReLU(Σ_k α_k A_k) on the feature map's grid, or the class token's rollout row on the
	// patch grid. Its scale is the model's, not comparable across models.
	GridHeight, GridWidth int
	Grid                  []float32
	// Zero reports a grid with no positive value (Grad-CAM: no location raises the class
	// score) or a constant one (rollout): Heat is then all zeros. See Normalise and
	// NormaliseRange.
	Zero bool

	// Grad-CAM only (Class is -1 for rollout): the class explained, its logit, the class the
	// model predicts, the softmax of the logits, and the channel weights α_k.
	Class     int
	Score     float32
	Predicted int
	Probs     []float32
	Weights   []float32
}

// The methods a Map can come from.
const (
	MethodGradCAM = "grad-cam"
	MethodRollout = "rollout"
)

// newMap upsamples grid [gh·gw] to h×w (Upsample) and normalises it: Normalise for
// Grad-CAM, NormaliseRange for rollout.
func newMap(method string, grid []float32, gh, gw, h, w int) Map {
	normalise := Normalise
	if method == MethodRollout {
		normalise = NormaliseRange
	}
	heat, zero := normalise(Upsample(grid, gh, gw, h, w))
	return Map{Method: method, Height: h, Width: w, Heat: heat, GridHeight: gh, GridWidth: gw, Grid: grid, Zero: zero, Class: -1, Predicted: -1}
}

// Upsample resizes a row-major map [gh·gw] to h×w bilinearly, with half-pixel centres and
// clamped edges: PyTorch's F.interpolate(mode="bilinear", align_corners=False) and OpenCV's
// INTER_LINEAR, which Grad-CAM implementations use. Output pixel (i, j) samples the map at
// ((i+0.5)·gh/h − 0.5, (j+0.5)·gw/w − 0.5). Non-negative maps stay non-negative and their
// maximum does not grow.
func Upsample(grid []float32, gh, gw, h, w int) []float32 {
	rows, cols := interpolation(gh, h), interpolation(gw, w)
	out := make([]float32, h*w)
	for i, r := range rows {
		for j, c := range cols {
			top := float64(grid[r.i0*gw+c.i0])*(1-c.f) + float64(grid[r.i0*gw+c.i1])*c.f
			bottom := float64(grid[r.i1*gw+c.i0])*(1-c.f) + float64(grid[r.i1*gw+c.i1])*c.f
			out[i*w+j] = float32(top*(1-r.f) + bottom*r.f)
		}
	}
	return out
}

// tap is one output coordinate's two source samples and the weight f of the second.
type tap struct {
	i0, i1 int
	f      float64
}

// interpolation returns the taps of each of `to` outputs sampling `from` inputs.
func interpolation(from, to int) []tap {
	taps := make([]tap, to)
	for i := range taps {
		src := max((float64(i)+0.5)*float64(from)/float64(to)-0.5, 0)
		i0 := min(int(src), from-1)
		taps[i] = tap{i0: i0, i1: min(i0+1, from-1), f: src - float64(i0)}
	}
	return taps
}

// Normalise divides a non-negative map by its maximum, so the strongest location is 1 and
// 0 keeps its meaning of "no evidence" (Selvaraju et al.'s code; Abnar and Zuidema's
// rollout is shown the same way). Negative values are clipped to 0. A map whose maximum is
// not positive and finite — Grad-CAM's ReLU left nothing, or the weights overflowed —
// favours no location: it becomes all zeros, and zero is true, so that callers can say so
// instead of drawing a blank map as if it were an explanation.
func Normalise(m []float32) (heat []float32, zero bool) {
	peak := float32(0)
	for _, v := range m {
		peak = max(peak, v)
	}
	heat = make([]float32, len(m))
	if !(peak > 0) || math.IsInf(float64(peak), 1) {
		return heat, true
	}
	for i, v := range m {
		heat[i] = max(v, 0) / peak
	}
	return heat, false
}

// NormaliseRange maps a map's minimum to 0 and its maximum to 1. Rollout uses it: its
// values are a distribution over patches that the residual identity keeps positive
// everywhere, so its floor says nothing about location, and divided by its maximum a map
// of a model that attends almost uniformly would be uniformly bright. Stretched, small
// differences look large: Map.Contrast (max/min) tells how large they are. A constant or
// non-finite map is reported as zero (all zeros, zero true), as in Normalise.
func NormaliseRange(m []float32) (heat []float32, zero bool) {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range m {
		lo, hi = min(lo, v), max(hi, v)
	}
	heat = make([]float32, len(m))
	span := float64(hi) - float64(lo)
	if !(span > 0) || math.IsInf(span, 0) {
		return heat, true
	}
	for i, v := range m {
		heat[i] = float32(float64(v-lo) / span)
	}
	return heat, false
}

// Contrast is the grid's maximum over its minimum (+Inf when the minimum is not positive):
// how strongly the map singles out its peak, before normalisation stretched it.
func (m Map) Contrast() float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range m.Grid {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	if !(lo > 0) {
		return math.Inf(1)
	}
	return hi / lo
}
