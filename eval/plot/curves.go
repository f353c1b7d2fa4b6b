package plot

import (
	"fmt"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Curve is one quantity logged during one training run: Y at step X. Quantity
// names the panel ("loss", "embedding std", "effective rank"); Name names the
// run and keeps its colour across panels.
type Curve struct {
	Name, Quantity string
	X, Y           []float64
}

// TrainingCurves draws each quantity in its own panel, stacked vertically in the
// order the quantities first appear, with shared step axes aligned and one line
// per run. The figure is Height tall for one panel and PanelHeight per panel
// beyond that (see TrainingCurvesSize).
func TrainingCurves(path, title string, curves []Curve) (err error) {
	defer recoverTo(&err)
	if len(curves) == 0 {
		return fmt.Errorf("%w: TrainingCurves got no curves", ErrEmpty)
	}
	var quantities, names []string
	panel := map[string]*gplot.Plot{}
	run := map[string]int{}
	for _, c := range curves {
		if len(c.X) == 0 {
			return fmt.Errorf("%w: TrainingCurves curve %q/%q has no points", ErrEmpty, c.Name, c.Quantity)
		}
		if len(c.X) != len(c.Y) {
			return fmt.Errorf("%w: TrainingCurves curve %q/%q has %d X but %d Y", ErrShape, c.Name, c.Quantity, len(c.X), len(c.Y))
		}
		for _, v := range []struct {
			n  string
			xs []float64
		}{{"X", c.X}, {"Y", c.Y}} {
			if err := checkFinite(fmt.Sprintf("TrainingCurves curve %q/%q %s", c.Name, c.Quantity, v.n), v.xs); err != nil {
				return err
			}
		}
		if _, ok := panel[c.Quantity]; !ok {
			quantities = append(quantities, c.Quantity)
			panel[c.Quantity] = newPlot("", "", c.Quantity)
		}
		if _, ok := run[c.Name]; !ok {
			run[c.Name] = len(names)
			names = append(names, c.Name)
		}
	}
	plots := make([]*gplot.Plot, len(quantities))
	for i, q := range quantities {
		plots[i] = panel[q]
	}
	plots[0].Title.Text = title
	plots[len(plots)-1].X.Label.Text = "step"
	legendDone := map[string]bool{}
	for _, c := range curves {
		pts := make(plotter.XYs, len(c.X))
		for j := range c.X {
			pts[j] = plotter.XY{X: c.X[j], Y: c.Y[j]}
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plot: TrainingCurves curve %q/%q: %w", c.Name, c.Quantity, err)
		}
		i := run[c.Name]
		line.Color = colorAt(i, 0xFF)
		line.Width = vg.Points(1.2)
		if i > 0 {
			line.Dashes = dashes[(i-1)%len(dashes)]
		}
		panel[c.Quantity].Add(line)
		if !legendDone[c.Name] {
			plots[0].Legend.Add(c.Name, line)
			legendDone[c.Name] = true
		}
	}
	// Same step range in every panel so the aligned axes mean the same.
	xmin, xmax := plots[0].X.Min, plots[0].X.Max
	for _, p := range plots {
		xmin, xmax = min(xmin, p.X.Min), max(xmax, p.X.Max)
	}
	for _, p := range plots {
		p.X.Min, p.X.Max = xmin, xmax
	}
	w, h := TrainingCurvesSize(len(plots))
	return save(path, w, h, plots...)
}

// TrainingCurvesSize returns the size of a TrainingCurves figure with the given
// number of panels.
func TrainingCurvesSize(panels int) (w, h vg.Length) {
	if panels <= 1 {
		return Width, Height
	}
	return Width, vg.Length(panels) * PanelHeight
}
