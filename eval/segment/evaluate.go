package segment

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/models"
)

// Evaluation is a model's score on a set of slices, in 3D: each case's predicted slices
// stacked back into its volume (seg.Slices.Restack) and compared with its true labels.
type Evaluation struct {
	// Summary holds the per-class means over volumes and the foreground means (its Map
	// gives "dice", "iou", "hd95", "dice_k", ...).
	Summary metrics.Segmentation
	// Volumes are each case's scores and Names its name, in the order of the slices'
	// Stacks: the per-volume values paired tests and bootstrap intervals need.
	Volumes []metrics.VolumeScores
	Names   []string
	// Pred is the predicted mask of every slice, in the order of the slices' Masks (for
	// overlays, see Overlay).
	Pred []uint8
}

// Evaluate scores predicted slice masks (N·Height·Width classes in the order of s.Masks) on
// the volumes of s: per case, Dice, IoU and HD95 of every class in 3D on the stack's grid
// with its spacing (metrics.ScoreVolume), then their summary.
func Evaluate(s *seg.Slices, pred []uint8) (*Evaluation, error) {
	if s == nil || len(s.Stacks) == 0 {
		return nil, errors.New("segment: evaluate: no volumes")
	}
	n := s.Height * s.Width
	if len(pred) != s.N()*n {
		return nil, fmt.Errorf("segment: evaluate: %d predicted values for %d slices of %dx%d", len(pred), s.N(), s.Height, s.Width)
	}
	ev := &Evaluation{Pred: pred}
	for i := range s.Stacks {
		st := &s.Stacks[i]
		grid, err := s.Restack(st, pred[st.First*n:(st.First+st.Count)*n])
		if err != nil {
			return nil, err
		}
		sc, err := metrics.ScoreVolume(st.Truth, grid, s.NumClasses, metrics.Grid{Dims: st.Dims(), Spacing: st.Spacing})
		if err != nil {
			return nil, fmt.Errorf("segment: evaluate %s: %w", st.Name, err)
		}
		ev.Volumes, ev.Names = append(ev.Volumes, sc), append(ev.Names, st.Name)
	}
	var err error
	if ev.Summary, err = metrics.SummariseSegmentation(ev.Volumes); err != nil {
		return nil, err
	}
	return ev, nil
}

// Evaluate predicts the slices of s and scores them in 3D (see Evaluate).
func (m *Model) Evaluate(s *seg.Slices) (*Evaluation, error) {
	pred, err := m.Predict(s)
	if err != nil {
		return nil, err
	}
	return Evaluate(s, pred)
}

// Load returns the segmentation model held by store (its variables under
// models.EncoderScope and models.DecoderScope, e.g. a Model's Store saved and read back),
// for Predict and Evaluate.
func Load(backend compute.Backend, store *model.Store, enc models.Encoder, classes int) (*Model, error) {
	if backend == nil || store == nil || enc == nil || classes < 2 {
		return nil, errors.New("segment: Load needs a backend, a store, an encoder and at least 2 classes")
	}
	if _, err := models.DenseOf(enc); err != nil {
		return nil, fmt.Errorf("segment: %w", err)
	}
	return &Model{Store: store, Encoder: enc, NumClasses: classes, backend: backend}, nil
}

// ClassColours are the colours Overlay paints classes 1, 2, … with (cycling): red, green,
// blue, yellow, magenta, cyan.
var ClassColours = []color.RGBA{{230, 40, 40, 255}, {40, 200, 60, 255}, {50, 90, 240, 255},
	{240, 220, 30, 255}, {220, 40, 220, 255}, {30, 210, 220, 255}}

// Overlay draws slice i of s three times side by side, scaled up by an integer factor:
// the grey image, the image with the true mask, and the image with the predicted mask
// pred (N·Height·Width classes, as Evaluation.Pred), each foreground class blended in its
// ClassColours colour at 45%, the panels apart by scale white pixels.
func Overlay(s *seg.Slices, pred []uint8, i, scale int) (*image.RGBA, error) {
	n := s.Height * s.Width
	if i < 0 || i >= s.N() || len(pred) != s.N()*n || scale < 1 {
		return nil, fmt.Errorf("segment: Overlay: slice %d of %d, %d predicted values, scale %d", i, s.N(), len(pred), scale)
	}
	img, truth, p := s.Image(i), s.Mask(i), pred[i*n:(i+1)*n]
	w, h := s.Width*scale, s.Height*scale
	out := image.NewRGBA(image.Rect(0, 0, 3*w+2*scale, h))
	for k := range out.Pix { // opaque white gaps between the panels
		out.Pix[k] = 255
	}
	for panel, mask := range [][]uint8{nil, truth, p} {
		x0 := panel * (w + scale)
		for y := range h {
			for x := range w {
				k := (y/scale)*s.Width + x/scale
				g := float64(img[k])
				c := color.RGBA{uint8(g), uint8(g), uint8(g), 255}
				if mask != nil && mask[k] > 0 {
					col := ClassColours[(int(mask[k])-1)%len(ClassColours)]
					const a = 0.45
					c = color.RGBA{uint8((1-a)*g + a*float64(col.R)), uint8((1-a)*g + a*float64(col.G)), uint8((1-a)*g + a*float64(col.B)), 255}
				}
				out.SetRGBA(x0+x, y, c)
			}
		}
	}
	return out, nil
}

// OverlaySlices picks n slices to show, from n different cases spread over s's stacks
// (the first, the last and evenly between): in each, the slice with the most true
// foreground pixels.
func OverlaySlices(s *seg.Slices, n int) []int {
	if n <= 0 || len(s.Stacks) == 0 {
		return nil
	}
	n = min(n, len(s.Stacks))
	var out []int
	for j := range n {
		si := 0
		if n > 1 {
			si = j * (len(s.Stacks) - 1) / (n - 1)
		}
		st := s.Stacks[si]
		best, bestCount := st.First, -1
		for k := st.First; k < st.First+st.Count; k++ {
			c := 0
			for _, v := range s.Mask(k) {
				if v > 0 {
					c++
				}
			}
			if c > bestCount {
				best, bestCount = k, c
			}
		}
		out = append(out, best)
	}
	return out
}
