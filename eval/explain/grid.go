package explain

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Cell is one picture of a Grid with an optional caption under it.
type Cell struct {
	// Image is drawn Grid.Scale times larger (nearest neighbour: every pixel stays a
	// visible square, nothing is smoothed). nil leaves the cell empty with its Caption in
	// the middle (e.g. why an arm has no map).
	Image   image.Image
	Caption string
}

// Grid is a figure of pictures in rows and columns with a title, column titles, row
// labels and, optionally, a viridis colour bar: rows are images, columns arms (or the
// stages of an MAE reconstruction). Text uses gonum/plot's fonts, as eval/plot does.
type Grid struct {
	Title   string
	Columns []string
	Rows    []string
	Cells   [][]Cell // [row][column]; every Image of one grid has the same size
	// Scale is the integer magnification of the cell images; 0 picks the smallest that
	// makes them at least MinCellSize pixels on their shorter side.
	Scale int
	// Colorbar draws the heat scale (Viridis from 0 to 1) under the grid.
	Colorbar bool
}

// Layout constants of Render, in pixels.
const (
	MinCellSize = 112
	gridMargin  = 8
	gridGap     = 6
	fontSize    = 11
	titleSize   = 13
	barWidth    = 200
	barHeight   = 10
)

func textStyle(size vg.Length) text.Style {
	return text.Style{Color: color.Black, Font: font.From(gplot.DefaultFont, size), Handler: gplot.DefaultTextHandler}
}

// Render draws the grid. It returns the picture and where each cell's (scaled) image lies
// in it, [row][column].
func (g *Grid) Render() (img *image.RGBA, cells [][]image.Rectangle, err error) {
	defer func() {
		if r := recover(); r != nil { // gonum/plot panics on font trouble
			err = fmt.Errorf("explain: drawing the grid: %v", r)
		}
	}()
	if len(g.Rows) == 0 || len(g.Columns) == 0 {
		return nil, nil, errors.New("explain: a grid needs rows and columns")
	}
	if len(g.Cells) != len(g.Rows) {
		return nil, nil, fmt.Errorf("explain: %d rows of cells for %d row labels", len(g.Cells), len(g.Rows))
	}
	var size image.Point
	captions := false
	for r, row := range g.Cells {
		if len(row) != len(g.Columns) {
			return nil, nil, fmt.Errorf("explain: row %d has %d cells for %d columns", r, len(row), len(g.Columns))
		}
		for c, cell := range row {
			captions = captions || cell.Caption != ""
			if cell.Image == nil {
				continue
			}
			s := cell.Image.Bounds().Size()
			if size == (image.Point{}) {
				size = s
			} else if s != size {
				return nil, nil, fmt.Errorf("explain: cell (%d, %d) is %v, others %v", r, c, s, size)
			}
		}
	}
	if size == (image.Point{}) {
		return nil, nil, errors.New("explain: a grid without any image")
	}
	scale := g.Scale
	if scale <= 0 {
		scale = (MinCellSize + min(size.X, size.Y) - 1) / min(size.X, size.Y)
	}
	cw, ch := size.X*scale, size.Y*scale

	sty, title := textStyle(fontSize), textStyle(titleSize)
	lineH := int(sty.Height("Ag")) + 2
	labelW := 0
	for _, l := range g.Rows {
		labelW = max(labelW, int(sty.Width(l))+1)
	}
	for _, col := range g.Columns { // columns must fit their titles and captions
		cw = max(cw, int(sty.Width(col))+1)
	}
	for _, row := range g.Cells {
		for _, cell := range row {
			cw = max(cw, int(sty.Width(cell.Caption))+1)
		}
	}
	captionH := 0
	if captions {
		captionH = lineH
	}
	top := gridMargin
	if g.Title != "" {
		top += int(title.Height(g.Title)) + gridGap
	}
	headerY := top
	top += lineH
	left := gridMargin + labelW + gridGap
	rowH := ch + captionH + gridGap
	width := left + len(g.Columns)*(cw+gridGap) - gridGap + gridMargin
	height := top + len(g.Rows)*rowH - gridGap + gridMargin
	barY := height
	if g.Colorbar {
		height += 2*lineH + barHeight + gridGap
	}
	if g.Title != "" {
		width = max(width, int(title.Width(g.Title))+2*gridMargin)
	}
	const barCaption = "heat (viridis): Grad-CAM 0 none to 1 the image's maximum; rollout its minimum to its maximum"
	if g.Colorbar {
		width = max(width, int(sty.Width(barCaption))+2*gridMargin, barWidth+2*gridMargin+lineH)
	}

	canvas := vgimg.NewWith(vgimg.UseWH(vg.Length(width), vg.Length(height)), vgimg.UseDPI(72))
	dc := vgdraw.New(canvas)
	// at converts a pixel position (y down) to the canvas's points (y up; 1 pt = 1 px at 72 dpi).
	at := func(x, y int) vg.Point { return vg.Point{X: vg.Length(x), Y: vg.Length(height - y)} }
	put := func(s text.Style, x, y int, xa text.XAlignment, ya text.YAlignment, txt string) {
		s.XAlign, s.YAlign = xa, ya
		dc.FillText(s, at(x, y), txt)
	}
	if g.Title != "" {
		put(title, width/2, gridMargin, vgdraw.XCenter, vgdraw.YTop, g.Title)
	}
	out := canvas.Image()
	cells = make([][]image.Rectangle, len(g.Rows))
	for c, col := range g.Columns {
		put(sty, left+c*(cw+gridGap)+cw/2, headerY, vgdraw.XCenter, vgdraw.YTop, col)
	}
	for r, label := range g.Rows {
		y := top + r*rowH
		put(sty, gridMargin, y+ch/2, vgdraw.XLeft, vgdraw.YCenter, label)
		cells[r] = make([]image.Rectangle, len(g.Columns))
		for c, cell := range g.Cells[r] {
			x := left + c*(cw+gridGap)
			dst := image.Rect(x+(cw-size.X*scale)/2, y, x+(cw-size.X*scale)/2+size.X*scale, y+size.Y*scale)
			cells[r][c] = dst
			if cell.Image == nil {
				draw.Draw(out, dst, image.NewUniform(color.Gray{Y: 0xEE}), image.Point{}, draw.Src)
				put(sty, x+cw/2, y+ch/2, vgdraw.XCenter, vgdraw.YCenter, cell.Caption)
				continue
			}
			drawScaled(out, dst.Min, cell.Image, scale)
			if cell.Caption != "" {
				put(sty, x+cw/2, y+ch+1, vgdraw.XCenter, vgdraw.YTop, cell.Caption)
			}
		}
	}
	if g.Colorbar {
		x0 := (width - barWidth) / 2
		y0 := barY + lineH
		put(sty, width/2, barY, vgdraw.XCenter, vgdraw.YTop, barCaption)
		for i := range barWidth {
			col := Viridis(float32(i) / float32(barWidth-1))
			draw.Draw(out, image.Rect(x0+i, y0, x0+i+1, y0+barHeight), image.NewUniform(col), image.Point{}, draw.Src)
		}
		put(sty, x0, y0+barHeight+1, vgdraw.XCenter, vgdraw.YTop, "0")
		put(sty, x0+barWidth, y0+barHeight+1, vgdraw.XCenter, vgdraw.YTop, "1")
	}
	rgba, ok := out.(*image.RGBA)
	if !ok {
		rgba = image.NewRGBA(out.Bounds())
		draw.Draw(rgba, rgba.Bounds(), out, out.Bounds().Min, draw.Src)
	}
	return rgba, cells, nil
}

// drawScaled copies src into dst at min, every pixel as a scale×scale square.
func drawScaled(dst draw.Image, min image.Point, src image.Image, scale int) {
	b := src.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			px := image.NewUniform(src.At(x, y))
			p := min.Add(image.Pt((x-b.Min.X)*scale, (y-b.Min.Y)*scale))
			draw.Draw(dst, image.Rectangle{Min: p, Max: p.Add(image.Pt(scale, scale))}, px, image.Point{}, draw.Src)
		}
	}
}

// WriteGrid renders g and writes it to path as a PNG file.
func WriteGrid(path string, g *Grid) error {
	img, _, err := g.Render()
	if err != nil {
		return err
	}
	return WritePNG(path, img)
}
