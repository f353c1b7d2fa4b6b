package augment_test

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl/augment"
)

// TestWriteGrid writes PNG grids of real BreastMNIST images (first column) and views of
// them (other columns), one file per default pipeline, for a person to look at. The folder
// is $AUGMENT_GRID_DIR, else a temporary one (logged with -v).
func TestWriteGrid(t *testing.T) {
	const rows, cols, zoom = 6, 8, 4
	dir := os.Getenv("AUGMENT_GRID_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	x := loadBreast(t, rows)
	for name, p := range map[string]augment.Pipeline{
		"medical": augment.MedicalDefault(), "simclr": augment.SimCLRDefault(), "supervised": augment.SupervisedDefault(),
	} {
		views := run(t, 1, func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			return augment.Views(scope, in[0], cols-1, p)
		}, x.tensor())
		const cell = 28*zoom + 2
		img := image.NewGray(image.Rect(0, 0, cols*cell, rows*cell))
		for i := range img.Pix {
			img.Pix[i] = 128 // grey separators
		}
		for r := 0; r < rows; r++ {
			for c := 0; c < cols; c++ {
				src := x.sample(r)
				if c > 0 {
					src = batch{B: x.B, H: 28, W: 28, C: 1, Data: views[c-1]}.sample(r)
				}
				for i := 0; i < 28*zoom; i++ {
					for j := 0; j < 28*zoom; j++ {
						v := src[(i/zoom)*28+j/zoom]
						img.SetGray(c*cell+j, r*cell+i, color.Gray{Y: uint8(v*255 + 0.5)})
					}
				}
			}
		}
		path := filepath.Join(dir, "augment_"+name+".png")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
}
