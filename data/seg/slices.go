package seg

import (
	"fmt"
	"iter"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl/data"
)

// SliceConfig says how Set.Slices cuts cases into 2D slices. Start from
// DefaultSliceConfig.
type SliceConfig struct {
	// Plane of the slices (data.Axial, data.Coronal or data.Sagittal), oriented as
	// data.Volume.Slices describes whatever the order of the file's axes.
	Plane data.Plane
	// Height and Width (> 0) of every slice; see the package documentation for the
	// centring rule.
	Height, Width int
	// Percentiles (lo, hi), 0 <= lo < hi <= 100: each volume's grey levels 0..255 span its
	// lo-th to hi-th intensity percentile. Both zero: Window is used instead.
	Percentiles [2]float64
	// Window, when Percentiles is zero: a fixed window (e.g. data.WindowCTBrain), or
	// data.WindowFromFile (the zero Window): the file's stored window, else the volume's
	// min-max range. 2D sets (Load2D) store the window 0..255, so this keeps their grey
	// levels.
	Window data.Window
}

// DefaultPercentiles is the default per-volume intensity window: the 0.5th to the 99.5th
// percentile.
var DefaultPercentiles = [2]float64{0.5, 99.5}

// DefaultSliceConfig cuts axial slices of height×width pixels with the per-volume
// percentile window DefaultPercentiles.
func DefaultSliceConfig(height, width int) SliceConfig {
	return SliceConfig{Plane: data.Axial, Height: height, Width: width, Percentiles: DefaultPercentiles}
}

func (c SliceConfig) validate() error {
	switch {
	case c.Height <= 0 || c.Width <= 0:
		return fmt.Errorf("seg: slice size %dx%d, want positive: %w", c.Height, c.Width, data.ErrArgument)
	case c.Percentiles != [2]float64{} && !(c.Percentiles[0] >= 0 && c.Percentiles[0] < c.Percentiles[1] && c.Percentiles[1] <= 100):
		return fmt.Errorf("seg: percentiles %v, want 0 <= lo < hi <= 100: %w", c.Percentiles, data.ErrArgument)
	}
	return nil
}

// Stack is how one case's slices stack back into its volume. The slices of the plane,
// before centring, form a grid of Count slices of Rows×Cols pixels, stored with the column
// fastest: grid value (s, r, c) is at c + Cols·(r + Rows·s). Grid pixel (r, c) of slice s
// is pixel (r+Top, c+Left) of Slices image First+s (Top or Left is negative when the slice
// was cropped).
type Stack struct {
	Name         string
	First, Count int
	Rows, Cols   int
	Top, Left    int
	// Spacing is the grid's spacing in mm along columns, rows and slices (the order of the
	// grid's indices, column fastest).
	Spacing [3]float64
	// Truth holds the case's labels on the grid, whole (cropping does not cut it).
	Truth []uint8
}

// Dims returns the grid's dimensions, column fastest: (Cols, Rows, Count).
func (st *Stack) Dims() [3]int { return [3]int{st.Cols, st.Rows, st.Count} }

// Slices is a set of aligned 2D image/mask pairs of one size, cut from the cases of a Set.
// Image i and mask i are Height×Width bytes, row-major; a case's slices are consecutive,
// in the plane's slice order.
type Slices struct {
	Height, Width int
	// NumClasses is the number of classes, background included.
	NumClasses int
	// Images holds grey levels, Masks classes, N·Height·Width bytes each.
	Images, Masks []uint8
	// Stacks has one entry per case, in the set's order.
	Stacks []Stack
}

// N is the number of slices.
func (s *Slices) N() int { return len(s.Images) / (s.Height * s.Width) }

// Image returns slice i's grey levels; it shares memory with s.
func (s *Slices) Image(i int) []uint8 {
	n := s.Height * s.Width
	return s.Images[i*n : (i+1)*n : (i+1)*n]
}

// Mask returns slice i's classes; it shares memory with s.
func (s *Slices) Mask(i int) []uint8 {
	n := s.Height * s.Width
	return s.Masks[i*n : (i+1)*n : (i+1)*n]
}

// Split returns the slices' images as a single-channel data.Split (labels are
// placeholders, all 0): a data.Source for self-supervised pretraining on the slices, and
// what models.Infer reads. It shares the image bytes with s.
func (s *Slices) Split() *data.Split {
	n := s.N()
	return &data.Split{Name: "slices", N: n, Height: s.Height, Width: s.Width, Channels: 1,
		Images: s.Images, Labels: make([]int32, n), LabelDim: 1, NumClasses: 1}
}

// Restack returns case st's predicted labels on its grid (see Stack) from pred, the
// predicted masks of its st.Count slices, Height·Width bytes each, one after the other.
// Grid pixels cropped away from the slices get class 0.
func (s *Slices) Restack(st *Stack, pred []uint8) ([]uint8, error) {
	n := s.Height * s.Width
	if len(pred) != st.Count*n {
		return nil, fmt.Errorf("seg: Restack %s: %d predicted values, want %d slices of %dx%d: %w", st.Name, len(pred), st.Count, s.Height, s.Width, data.ErrArgument)
	}
	out := make([]uint8, st.Count*st.Rows*st.Cols)
	for k := range st.Count {
		for r := range st.Rows {
			y := r + st.Top
			if y < 0 || y >= s.Height {
				continue
			}
			for c := range st.Cols {
				if x := c + st.Left; x >= 0 && x < s.Width {
					out[c+st.Cols*(r+st.Rows*k)] = pred[k*n+y*s.Width+x]
				}
			}
		}
	}
	return out, nil
}

// Slices cuts every case into slices along cfg.Plane, windows the images to grey levels
// (see the package documentation) and centres image and mask alike in Height×Width.
func (s *Set) Slices(cfg SliceConfig) (*Slices, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	out := &Slices{Height: cfg.Height, Width: cfg.Width, NumClasses: s.NumClasses}
	identity := data.Window{Center: 127.5, Width: 255} // grey = value for 0..255
	for _, c := range s.Cases {
		w := cfg.Window
		if cfg.Percentiles != [2]float64{} {
			sorted := sortedFinite(c.Image.Data)
			lo, hi := percentileSorted(sorted, cfg.Percentiles[0]), percentileSorted(sorted, cfg.Percentiles[1])
			w = data.Window{Center: (lo + hi) / 2, Width: max(hi-lo, 1e-6)}
		}
		img, err := c.Image.Slices(cfg.Plane, w)
		if err != nil {
			return nil, fmt.Errorf("seg: %s: %w", c.ImageFile, err)
		}
		lv := *c.Image
		lv.Data = make([]float32, len(c.Labels))
		for i, v := range c.Labels {
			lv.Data[i] = float32(v)
		}
		lv.Invert, lv.Window = false, data.Window{}
		lbl, err := lv.Slices(cfg.Plane, identity)
		if err != nil {
			return nil, fmt.Errorf("seg: %s: %w", c.LabelFile, err)
		}
		rows, cols, normal, err := c.Image.PlaneSpacing(cfg.Plane)
		if err != nil {
			return nil, err
		}
		st := Stack{Name: c.Name, First: out.N(), Count: img.N, Rows: img.Height, Cols: img.Width,
			Top: centre(img.Height, cfg.Height), Left: centre(img.Width, cfg.Width),
			Spacing: [3]float64{cols, rows, normal}, Truth: lbl.Images}
		for k := range img.N {
			out.Images = append(out.Images, place(img.Image(k), &st, cfg.Height, cfg.Width)...)
			out.Masks = append(out.Masks, place(lbl.Image(k), &st, cfg.Height, cfg.Width)...)
		}
		out.Stacks = append(out.Stacks, st)
	}
	return out, nil
}

// centre is the offset of an axis of n pixels in one of size pixels: ⌊(size−n)/2⌋ when
// padding, −⌊(n−size)/2⌋ when cropping.
func centre(n, size int) int {
	if n <= size {
		return (size - n) / 2
	}
	return -((n - size) / 2)
}

// place puts a Rows×Cols grid slice into a new height×width image at the stack's offset,
// zero elsewhere.
func place(src []uint8, st *Stack, height, width int) []uint8 {
	out := make([]uint8, height*width)
	for r := range st.Rows {
		y := r + st.Top
		if y < 0 || y >= height {
			continue
		}
		for c := range st.Cols {
			if x := c + st.Left; x >= 0 && x < width {
				out[y*width+x] = src[r*st.Cols+c]
			}
		}
	}
	return out
}

// Percentile returns the q-th percentile (q in [0, 100]) of the finite values of vals, by
// linear interpolation between order statistics (numpy's default): with the n values
// sorted, position q/100·(n−1). It returns 0 when no value is finite.
func Percentile(vals []float32, q float64) float64 {
	return percentileSorted(sortedFinite(vals), q)
}

// sortedFinite returns the finite values of vals, sorted, as float64.
func sortedFinite(vals []float32) []float64 {
	s := make([]float64, 0, len(vals))
	for _, v := range vals {
		if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
			s = append(s, f)
		}
	}
	slices.Sort(s)
	return s
}

// percentileSorted is Percentile of sorted values.
func percentileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}

// Batches serves slices for training as an endless GoMLX train.Dataset: each batch's
// Inputs are {images float32 [B, H, W, 1] in [0, 1] (grey/255), masks int32 [B, H, W]}
// and its Labels are empty (a segmentation model augments image and mask together inside
// the graph, so both are inputs). Epochs follow each other, each in a fresh order that
// depends only on (seed, epoch) (data.ShuffledOrder), and batches run across epoch
// boundaries, so every batch is full and has one shape.
type Batches struct {
	s     *Slices
	batch int
	seed  int64

	mu    sync.Mutex
	epoch int
}

// NewBatches returns the training stream of s in batches of batch slices (1 <= batch <= N).
func NewBatches(s *Slices, batch int, seed int64) (*Batches, error) {
	if s == nil || s.N() == 0 {
		return nil, fmt.Errorf("seg: NewBatches: no slices: %w", data.ErrArgument)
	}
	if batch < 1 || batch > s.N() {
		return nil, fmt.Errorf("seg: NewBatches: batch %d for %d slices: %w", batch, s.N(), data.ErrArgument)
	}
	return &Batches{s: s, batch: batch, seed: seed}, nil
}

// Name implements train.Dataset.
func (b *Batches) Name() string { return "segmentation slices" }

// Reset implements train.Dataset: the next Iter starts again from the first epoch.
func (b *Batches) Reset() {
	b.mu.Lock()
	b.epoch = 0
	b.mu.Unlock()
}

// Iter implements train.Dataset.
func (b *Batches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		var pending []int
		for {
			b.mu.Lock()
			e := b.epoch
			b.epoch++
			b.mu.Unlock()
			pending = append(pending, data.ShuffledOrder(b.s.N(), b.seed, e)...)
			n := 0
			for ; len(pending)-n >= b.batch; n += b.batch {
				if !yield(b.s.batch(pending[n:n+b.batch]), nil) {
					return
				}
			}
			pending = append(pending[:0], pending[n:]...)
		}
	}
}

// batch builds the train.Batch of the given slices.
func (s *Slices) batch(idx []int) train.Batch {
	h, w := s.Height, s.Width
	images := tensors.FromShape(shapes.Make(dtypes.Float32, len(idx), h, w, 1))
	tensors.MustMutableFlatData(images, func(flat []float32) {
		for b, i := range idx {
			for k, v := range s.Image(i) {
				flat[b*h*w+k] = float32(v) / 255
			}
		}
	})
	masks := tensors.FromShape(shapes.Make(dtypes.Int32, len(idx), h, w))
	tensors.MustMutableFlatData(masks, func(flat []int32) {
		for b, i := range idx {
			for k, v := range s.Mask(i) {
				flat[b*h*w+k] = int32(v)
			}
		}
	})
	return train.Batch{Inputs: []*tensors.Tensor{images, masks}}
}

var _ train.Dataset = (*Batches)(nil)
