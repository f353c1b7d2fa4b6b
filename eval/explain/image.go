package explain

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"

	"github.com/medssl/medssl/data"
)

// OverlayAlpha is the heat map's weight in Overlay: half image, half colour, as
// pytorch-grad-cam's show_cam_on_image.
const OverlayAlpha = 0.5

//go:generate /usr/bin/python3 gen_viridis.py

// Viridis returns the colour of v in [0, 1] (clamped) on matplotlib's viridis colormap: a
// perceptually uniform scale (equal steps in value look like equal steps in colour, with
// lightness rising monotonically from dark purple to yellow) that stays readable in
// grey-scale print and under the common colour-vision deficiencies, unlike the rainbow
// "jet" most Grad-CAM figures use. The 256 levels are picked by rounding v·255.
func Viridis(v float32) color.RGBA {
	if !(v > 0) { // NaN too
		v = 0
	}
	c := viridisTable[int(math.Round(float64(min(v, 1))*255))]
	return color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}
}

// Gray returns image i of split as Height·Width values in [0, 1]: the pixels themselves for
// one channel, the ITU-R BT.601 luma 0.299 R + 0.587 G + 0.114 B for three.
func Gray(split *data.Split, i int) ([]float32, error) {
	if i < 0 || i >= split.N {
		return nil, fmt.Errorf("explain: image %d not in [0, %d)", i, split.N)
	}
	px := split.ImagesFloat32([]int{i})
	switch split.Channels {
	case 1:
		return px, nil
	case 3:
		out := make([]float32, split.Height*split.Width)
		for j := range out {
			out[j] = 0.299*px[3*j] + 0.587*px[3*j+1] + 0.114*px[3*j+2]
		}
		return out, nil
	}
	return nil, fmt.Errorf("explain: %d-channel images: want 1 (grey) or 3 (RGB)", split.Channels)
}

// to8 maps [0, 1] (clamped) to a byte, rounding.
func to8(v float64) uint8 {
	return uint8(math.Round(255 * min(1, max(0, v))))
}

// Overlay blends a heat map on a grey image, both h·w values in [0, 1], row-major: every
// pixel is (1 − OverlayAlpha)·grey + OverlayAlpha·Viridis(heat), per sRGB channel, rounded.
func Overlay(gray, heat []float32, h, w int) (*image.RGBA, error) {
	if len(gray) != h*w || len(heat) != h*w {
		return nil, fmt.Errorf("explain: overlay of %d grey values and %d heat values on %d×%d", len(gray), len(heat), h, w)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range h {
		for j := range w {
			g := float64(gray[i*w+j])
			c := Viridis(heat[i*w+j])
			blend := func(v uint8) uint8 { return to8((1-OverlayAlpha)*g + OverlayAlpha*float64(v)/255) }
			img.SetRGBA(j, i, color.RGBA{R: blend(c.R), G: blend(c.G), B: blend(c.B), A: 255})
		}
	}
	return img, nil
}

// ToImage turns h·w·c values in [0, 1] (channels-last, c = 1 or 3) into an image.
func ToImage(vals []float32, h, w, c int) (*image.RGBA, error) {
	if (c != 1 && c != 3) || len(vals) != h*w*c {
		return nil, fmt.Errorf("explain: %d values are not a %d×%d image of 1 or 3 channels (got %d)", len(vals), h, w, c)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range h * w {
		r := to8(float64(vals[i*c]))
		g, b := r, r
		if c == 3 {
			g, b = to8(float64(vals[i*c+1])), to8(float64(vals[i*c+2]))
		}
		img.SetRGBA(i%w, i/w, color.RGBA{R: r, G: g, B: b, A: 255})
	}
	return img, nil
}

// WritePNG writes img to path as a PNG file (the directory must exist).
func WritePNG(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("explain: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	return nil
}
