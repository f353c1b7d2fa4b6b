package plot

import (
	"fmt"
	"math"
	"sort"
	"strconv"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Series is one arm of a label-efficiency study: the metric's Mean at each label
// fraction X, with an interval [Lo, Hi] (for example a 95% bootstrap interval or
// mean ± std over seeds). Lo and Hi may both be nil to draw no interval.
type Series struct {
	Name         string
	X            []float64 // label fractions in (0, 1]: 0.01 is 1% of the labels
	Mean, Lo, Hi []float64
}

// LabelEfficiency plots metric against the fraction of labels used, one line with
// markers per series and a translucent band for its interval. The x axis is
// logarithmic (1%, 10% and 100% are evenly spaced) with ticks at the fractions
// present, labelled as percentages. (The data are drawn at log10(fraction) on a
// linear axis: gonum's LogScale mis-measures a centred axis label and squeezes
// the plot.)
func LabelEfficiency(path, title, metric string, series []Series) (err error) {
	defer recoverTo(&err)
	if len(series) == 0 {
		return fmt.Errorf("%w: LabelEfficiency got no series", ErrEmpty)
	}
	fractions := map[float64]bool{}
	for _, s := range series {
		if err := checkSeries(s); err != nil {
			return err
		}
		for _, x := range s.X {
			fractions[x] = true
		}
	}
	p := newPlot(title, "labelled fraction of the training set (log scale)", metric)
	p.X.Tick.Marker = percentTicks(fractions)
	var lines []gplot.Plotter // drawn after every band, so no band veils a line
	for i, s := range series {
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j] = plotter.XY{X: math.Log10(s.X[j]), Y: s.Mean[j]}
		}
		order := sortedIndex(s.X)
		sortXYs(pts, order)
		if s.Lo != nil {
			band := make(plotter.XYs, 0, 2*len(s.X))
			for _, j := range order {
				band = append(band, plotter.XY{X: math.Log10(s.X[j]), Y: s.Lo[j]})
			}
			for k := len(order) - 1; k >= 0; k-- {
				j := order[k]
				band = append(band, plotter.XY{X: math.Log10(s.X[j]), Y: s.Hi[j]})
			}
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return fmt.Errorf("plot: LabelEfficiency series %q: %w", s.Name, err)
			}
			// Faint fill plus a thin outline in the series colour, so overlapping
			// intervals of several arms stay attributable.
			poly.Color = colorAt(i, 0x30)
			poly.LineStyle.Color = colorAt(i, 0x90)
			poly.LineStyle.Width = vg.Points(0.5)
			p.Add(poly)
		}
		line, marks, err := plotter.NewLinePoints(pts)
		if err != nil {
			return fmt.Errorf("plot: LabelEfficiency series %q: %w", s.Name, err)
		}
		line.Color = colorAt(i, 0xFF)
		line.Width = vg.Points(1.5)
		marks.Color = colorAt(i, 0xFF)
		marks.Shape = glyphAt(i)
		marks.Radius = vg.Points(3)
		lines = append(lines, line, marks)
		p.Legend.Add(s.Name, line, marks)
	}
	p.Add(lines...)
	// Room for the markers at the extreme fractions.
	lo, hi := math.Inf(1), math.Inf(-1)
	for x := range fractions {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	p.X.Min, p.X.Max = math.Log10(lo/1.4), math.Log10(hi*1.4)
	return save(path, Width, Height, p)
}

// checkSeries validates one label-efficiency series.
func checkSeries(s Series) error {
	n := len(s.X)
	if n == 0 {
		return fmt.Errorf("%w: LabelEfficiency series %q has no points", ErrEmpty, s.Name)
	}
	if len(s.Mean) != n {
		return fmt.Errorf("%w: LabelEfficiency series %q has %d X but %d Mean", ErrShape, s.Name, n, len(s.Mean))
	}
	if (s.Lo == nil) != (s.Hi == nil) {
		return fmt.Errorf("%w: LabelEfficiency series %q: give both Lo and Hi or neither", ErrShape, s.Name)
	}
	if s.Lo != nil && (len(s.Lo) != n || len(s.Hi) != n) {
		return fmt.Errorf("%w: LabelEfficiency series %q has %d X but %d Lo and %d Hi", ErrShape, s.Name, n, len(s.Lo), len(s.Hi))
	}
	for _, v := range []struct {
		name string
		xs   []float64
	}{{"X", s.X}, {"Mean", s.Mean}, {"Lo", s.Lo}, {"Hi", s.Hi}} {
		if err := checkFinite(fmt.Sprintf("LabelEfficiency series %q %s", s.Name, v.name), v.xs); err != nil {
			return err
		}
	}
	for j, x := range s.X {
		if x <= 0 || x > 1 {
			return fmt.Errorf("%w: LabelEfficiency series %q X[%d] = %v is not a label fraction in (0, 1]", ErrValue, s.Name, j, x)
		}
		if s.Lo != nil && !(s.Lo[j] <= s.Mean[j] && s.Mean[j] <= s.Hi[j]) {
			return fmt.Errorf("%w: LabelEfficiency series %q point %d: want Lo <= Mean <= Hi, got %v, %v, %v", ErrValue, s.Name, j, s.Lo[j], s.Mean[j], s.Hi[j])
		}
	}
	return nil
}

// percentTicks puts a tick at log10 of each fraction present, labelled as a
// percentage ("1%", "12.5%").
func percentTicks(fractions map[float64]bool) gplot.ConstantTicks {
	ticks := make(gplot.ConstantTicks, 0, len(fractions))
	for x := range fractions {
		ticks = append(ticks, gplot.Tick{Value: math.Log10(x), Label: strconv.FormatFloat(100*x, 'g', 3, 64) + "%"})
	}
	sort.Slice(ticks, func(a, b int) bool { return ticks[a].Value < ticks[b].Value })
	return ticks
}

// sortedIndex returns the indices of xs in increasing order of xs.
func sortedIndex(xs []float64) []int {
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return xs[order[a]] < xs[order[b]] })
	return order
}

// sortXYs reorders pts by order (from sortedIndex over the same points).
func sortXYs(pts plotter.XYs, order []int) {
	sorted := make(plotter.XYs, len(pts))
	for k, j := range order {
		sorted[k] = pts[j]
	}
	copy(pts, sorted)
}
