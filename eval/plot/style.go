package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"os"
	"strconv"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Figure geometry shared by all plots.
const (
	Width       = 6 * vg.Inch   // figure width
	Height      = 4 * vg.Inch   // figure height (single panel)
	PanelHeight = 2.5 * vg.Inch // height of each panel of TrainingCurves
	DPI         = 150           // resolution of the PNG files
)

// Sentinel errors returned (wrapped, with details) for malformed input.
var (
	// ErrEmpty reports that there is nothing to draw.
	ErrEmpty = errors.New("plot: no data")
	// ErrShape reports slices whose lengths disagree.
	ErrShape = errors.New("plot: inconsistent lengths")
	// ErrValue reports a value that cannot be drawn (NaN, ±Inf, out of range).
	ErrValue = errors.New("plot: invalid value")
)

// palette is the Okabe-Ito colour-blind safe palette (black moved last).
var palette = []color.NRGBA{
	{R: 0x00, G: 0x72, B: 0xB2, A: 0xFF}, // blue
	{R: 0xD5, G: 0x5E, B: 0x00, A: 0xFF}, // vermillion
	{R: 0x00, G: 0x9E, B: 0x73, A: 0xFF}, // bluish green
	{R: 0xCC, G: 0x79, B: 0xA7, A: 0xFF}, // reddish purple
	{R: 0xE6, G: 0x9F, B: 0x00, A: 0xFF}, // orange
	{R: 0x56, G: 0xB4, B: 0xE9, A: 0xFF}, // sky blue
	{R: 0xF0, G: 0xE4, B: 0x42, A: 0xFF}, // yellow
	{R: 0x00, G: 0x00, B: 0x00, A: 0xFF}, // black
}

// glyphs are the marker shapes, cycled independently of the colours.
var glyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{},
	draw.PlusGlyph{}, draw.CrossGlyph{}, draw.RingGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{},
}

// colorAt returns the i-th series colour with the given alpha (0-255).
func colorAt(i int, alpha uint8) color.NRGBA {
	c := palette[i%len(palette)]
	c.A = alpha
	return c
}

func glyphAt(i int) draw.GlyphDrawer { return glyphs[i%len(glyphs)] }

// newPlot returns a plot with the package's fonts and grid-free style.
func newPlot(title, xLabel, yLabel string) *gplot.Plot {
	p := gplot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = 12
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Label.TextStyle.Font.Size = 10
	p.Y.Label.TextStyle.Font.Size = 10
	p.X.Tick.Label.Font.Size = 9
	p.Y.Tick.Label.Font.Size = 9
	p.Legend.TextStyle.Font.Size = 9
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.Padding = vg.Points(3)
	p.X.Tick.Marker = gTicks{}
	p.Y.Tick.Marker = gTicks{}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xE0}
	grid.Horizontal.Color = color.Gray{Y: 0xE0}
	p.Add(grid)
	return p
}

// gTicks are gonum's default tick positions labelled in the shortest form
// ("25", not "25.00"); when fewer than 4 would carry a label, the minor ticks are
// labelled too, so a narrow range still reads easily.
type gTicks struct{}

func (gTicks) Ticks(lo, hi float64) []gplot.Tick {
	ticks := gplot.DefaultTicks{}.Ticks(lo, hi)
	labelled := 0
	for _, t := range ticks {
		if !t.IsMinor() {
			labelled++
		}
	}
	for i, t := range ticks {
		if !t.IsMinor() || labelled < 4 {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'g', 4, 64)
		}
	}
	return ticks
}

// save renders the plots stacked vertically (one per row, axes aligned) and writes a
// PNG to path. The first plot's title spans the figure (shrunk, then wrapped, to fit)
// and its legend sits in a column right of the axes, or below them when that column
// would take more than a third of the width, so it never covers data.
func save(path string, w, h vg.Length, plots ...*gplot.Plot) error {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(img)
	pad := vg.Points(6)
	area := draw.Crop(dc, pad, -pad, pad, -pad)

	if title := plots[0].Title; title.Text != "" {
		plots[0].Title.Text = ""
		sty := title.TextStyle
		txt := fitText(&sty, title.Text, area.Max.X-area.Min.X)
		sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
		dc.FillText(sty, vg.Point{X: (area.Min.X + area.Max.X) / 2, Y: area.Max.Y}, txt)
		area.Max.Y -= sty.Height(txt) + title.Padding
	}

	legend := plots[0].Legend
	for _, p := range plots {
		p.Legend = gplot.NewLegend() // drawn once, beside or below the axes
	}
	axes := area
	if r := legend.Rectangle(dc); r.Max.X > r.Min.X {
		lw, lh := r.Max.X-r.Min.X, r.Max.Y-r.Min.Y
		legend.Top, legend.Left = true, true
		if lw <= w/3 {
			axes.Max.X -= lw + 2*pad
			side := area
			side.Min.X = area.Max.X - lw
			side.Max.Y -= pad
			legend.Draw(side)
		} else {
			axes.Min.Y += lh + 2*pad
			below := area
			below.Max.Y = area.Min.Y + lh
			below.Min.X += 2 * pad
			legend.Draw(below)
		}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(8)}
	grid := make([][]*gplot.Plot, len(plots))
	for i, p := range plots {
		grid[i] = []*gplot.Plot{p}
	}
	for i, cs := range gplot.Align(grid, tiles, axes) {
		plots[i].Draw(cs[0])
	}

	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("plot: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// fitText returns txt as it fits in width: sty's font is shrunk down to 10 pt and, if
// that is not enough, the words are wrapped onto several lines.
func fitText(sty *text.Style, txt string, width vg.Length) string {
	for sty.Width(txt) > width && sty.Font.Size > vg.Points(10) {
		sty.Font.Size -= vg.Points(0.5)
	}
	if sty.Width(txt) <= width {
		return txt
	}
	var lines []string
	line := ""
	for _, word := range strings.Fields(txt) {
		if line != "" && sty.Width(line+" "+word) > width {
			lines = append(lines, line)
			line = word
			continue
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return strings.Join(append(lines, line), "\n")
}

// checkFinite reports the first NaN or infinite value of xs.
func checkFinite(what string, xs []float64) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %s[%d] = %v", ErrValue, what, i, x)
		}
	}
	return nil
}

// recoverTo turns a panic inside gonum/plot into an error.
func recoverTo(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("plot: %v", r)
	}
}
