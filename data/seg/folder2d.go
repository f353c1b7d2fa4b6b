package seg

import (
	"bytes"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoding
	_ "image/png"  // PNG decoding
	"os"
	"path/filepath"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/medssl/medssl/data"
)

// MaskMode says how Load2D reads mask values.
type MaskMode int

const (
	// MaskAuto reads a folder whose PNG masks hold only 0 and 255 as MaskBinary, any
	// other folder as MaskIndexed.
	MaskAuto MaskMode = iota
	// MaskBinary: 0 is background, 255 foreground (class 1); any other value is an error.
	// JPEG masks (lossy, so their edges hold other values) are thresholded at 128 instead.
	MaskBinary
	// MaskIndexed: each value is a class index (a palette PNG's palette index, a grey
	// PNG's grey level). JPEG masks are refused: compression changes the values.
	MaskIndexed
)

// MaskSuffix names masks after their image plus a suffix: image "case1.png" goes with
// mask "case1<suffix>.png" (e.g. "_mask"). Without it, image and mask share their name.
func MaskSuffix(suffix string) Option { return func(c *config) { c.maskSuffix = suffix } }

// Masks sets how Load2D reads mask values (default MaskAuto).
func Masks(mode MaskMode) Option { return func(c *config) { c.maskMode = mode } }

// Resize makes Load2D resize every image (bilinear, imaging.Linear) and mask (nearest
// neighbour, so that classes stay classes) to height×width, for folders of images of
// different sizes. Evaluation then runs on the resized grid.
func Resize(height, width int) Option { return func(c *config) { c.height, c.width = height, width } }

// imageStem returns a PNG or JPEG file's name without its extension, or "".
func imageStem(name string) string {
	lower := strings.ToLower(name)
	for _, ext := range []string{".png", ".jpg", ".jpeg"} {
		if strings.HasSuffix(lower, ext) {
			return name[:len(name)-len(ext)]
		}
	}
	return ""
}

// Affine2D is the affine Load2D gives an image of W×H pixels, stored as a volume of
// dimensions (W, H, 1): i is the column, j the row, and the axes point to world −x, −y
// and +z, so that the axial slice (data.Axial) of the volume is the image as stored.
// Pixels are 1 mm: distances (HD95) on 2D sets are in pixels.
var Affine2D = [4][4]float64{{-1, 0, 0, 0}, {0, -1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}

// Load2D reads a folder of 2D images (PNG or JPEG, read as grey levels; colour images are
// converted with ITU-R BT.601 luma) with their masks: sub-folders images/ and masks/ (or
// images/ and labels/, or Folders), an image and its mask sharing their name (or see
// MaskSuffix) and their size. Each image becomes a Case of one axial slice (see Affine2D)
// whose window is the grey range 0..255, so that Slices with SliceConfig.Window left at
// data.WindowFromFile and no Percentiles keeps the grey levels as they are.
func Load2D(dir string, opts ...Option) (*Set, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	imgSub, maskSub, err := cfg.subFolders(dir, [][2]string{{"images", "masks"}, {"images", "labels"}})
	if err != nil {
		return nil, err
	}
	images, err := listFiles(dir, imgSub)
	if err != nil {
		return nil, err
	}
	masks, err := listFiles(dir, maskSub)
	if err != nil {
		return nil, err
	}
	maskStem := func(name string) string {
		s := imageStem(name)
		if cfg.maskSuffix == "" || s == "" {
			return s
		}
		if t, ok := strings.CutSuffix(s, cfg.maskSuffix); ok {
			return t
		}
		return "\x00" + s // a mask without the suffix matches no image
	}
	p := match(imgSub, maskSub, images, masks, imageStem, maskStem, "PNG or JPEG image")
	raw := make([][]uint8, len(p.cases)) // mask values as stored
	lossy := make([]bool, len(p.cases))  // JPEG masks
	index := map[string]int{}
	for i, c := range p.cases {
		index[c.Name] = i
	}
	read := func(c *Case) error {
		img, err := decodeFile(dir, c.ImageFile)
		if err != nil {
			return err
		}
		mask, err := decodeFile(dir, c.LabelFile)
		if err != nil {
			return err
		}
		if img.Bounds().Size() != mask.Bounds().Size() {
			return fileErr(c.LabelFile, ErrGeometry, nil, "%v pixels, the image %s has %v", mask.Bounds().Size(), c.ImageFile, img.Bounds().Size())
		}
		vals, err := maskValues(c.LabelFile, mask)
		if err != nil {
			return err
		}
		grey := greyPixels(img)
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if cfg.height > 0 {
			grey = imaging.Resize(&image.Gray{Pix: grey, Stride: w, Rect: image.Rect(0, 0, w, h)}, cfg.width, cfg.height, imaging.Linear).Pix
			g := make([]uint8, cfg.width*cfg.height)
			for k := range g {
				g[k] = grey[4*k] // imaging returns NRGBA; grey images have R = G = B
			}
			grey, vals = g, resizeNearest(vals, w, h, cfg.width, cfg.height)
			w, h = cfg.width, cfg.height
		}
		v := &data.Volume{Dims: [4]int{w, h, 1, 1}, Data: make([]float32, w*h), Affine: Affine2D,
			Spacing: [3]float64{1, 1, 1}, Window: data.Window{Center: 127.5, Width: 255},
			Meta: map[string]string{"Source": c.ImageFile}}
		for k, g := range grey {
			v.Data[k] = float32(g)
		}
		c.Image = v
		i := index[c.Name]
		raw[i] = vals
		lossy[i] = isJPEG(c.LabelFile)
		return nil
	}
	cases, skipped, err := readCases(p, cfg, read)
	if err != nil {
		return nil, err
	}
	mode := cfg.maskMode
	if mode == MaskAuto {
		mode = MaskBinary
		for _, c := range cases {
			i := index[c.Name]
			for _, v := range raw[i] {
				if !lossy[i] && v != 0 && v != 255 {
					mode = MaskIndexed
				}
			}
		}
	}
	var kept []Case
	for _, c := range cases {
		i := index[c.Name]
		c.Labels, err = maskClasses(c.LabelFile, raw[i], lossy[i], mode, c.Image.Dims, cfg.numClasses)
		if err != nil {
			if !cfg.skipBad {
				return nil, err
			}
			skipped = append(skipped, data.BadFile{File: c.LabelFile, Err: err})
			continue
		}
		kept = append(kept, c)
	}
	return newSet(dir, kept, skipped, cfg)
}

func isJPEG(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, ".jpg") || strings.HasSuffix(lower, ".jpeg")
}

// maxPixels2D bounds the images Load2D decodes (64 Mpx, data/folder's default).
const maxPixels2D = 64 << 20

// decodeFile decodes a PNG or JPEG file of dir, checking its size from the header first.
func decodeFile(dir, file string) (image.Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(file)))
	if err != nil {
		return nil, fileErr(file, data.ErrRead, err, "unreadable")
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr(file, data.ErrFormat, err, "not a readable PNG or JPEG image")
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels2D {
		return nil, fileErr(file, data.ErrShape, nil, "%dx%d pixels, more than %d", cfg.Width, cfg.Height, maxPixels2D)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr(file, data.ErrFormat, err, "not a readable PNG or JPEG image")
	}
	return img, nil
}

// greyPixels returns an image's grey levels, row-major (BT.601 luma for colour images,
// the high byte of 16-bit ones).
func greyPixels(img image.Image) []uint8 {
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out = append(out, color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return out
}

// maskValues returns a mask's stored values, row-major: palette indices, grey levels
// (16-bit ones must be < 256), or the common value of grey-looking colour pixels.
func maskValues(file string, img image.Image) ([]uint8, error) {
	b := img.Bounds()
	out := make([]uint8, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			switch m := img.(type) {
			case *image.Paletted:
				out = append(out, m.ColorIndexAt(x, y))
			case *image.Gray:
				out = append(out, m.GrayAt(x, y).Y)
			case *image.Gray16:
				v := m.Gray16At(x, y).Y
				if v > 255 {
					return nil, fileErr(file, data.ErrLabel, nil, "pixel (%d, %d) holds %d: a 16-bit mask value above 255", x-b.Min.X, y-b.Min.Y, v)
				}
				out = append(out, uint8(v))
			default:
				r, g, bl, _ := img.At(x, y).RGBA()
				if r != g || g != bl {
					return nil, fileErr(file, data.ErrLabel, nil, "pixel (%d, %d) is a colour (%d, %d, %d): masks must be grey or palette images",
						x-b.Min.X, y-b.Min.Y, r>>8, g>>8, bl>>8)
				}
				out = append(out, uint8(r>>8))
			}
		}
	}
	return out, nil
}

// maskClasses turns stored mask values into classes under mode.
func maskClasses(file string, vals []uint8, lossy bool, mode MaskMode, dims [4]int, numClasses int) ([]uint8, error) {
	if lossy && mode == MaskIndexed {
		return nil, fileErr(file, data.ErrLabel, nil, "a JPEG mask in an indexed-mask folder: JPEG compression changes values, so it cannot hold class indices (save masks as PNG)")
	}
	limit := 256
	if numClasses > 0 {
		limit = numClasses
	}
	out := make([]uint8, len(vals))
	for k, v := range vals {
		x, y := k%dims[0], k/dims[0]
		switch {
		case lossy:
			if v >= 128 {
				out[k] = 1
			}
		case mode == MaskBinary:
			if v != 0 && v != 255 {
				return nil, fileErr(file, data.ErrLabel, nil, "pixel (%d, %d) holds %d: a binary mask holds 0 and 255 only", x, y, v)
			}
			out[k] = v / 255
		default:
			if int(v) >= limit || v == 255 {
				return nil, fileErr(file, data.ErrLabel, nil, "pixel (%d, %d) holds %d: an indexed mask holds classes below %d (255 is taken for a binary mask's foreground: a folder mixing 0/255 masks with indexed ones is ambiguous)",
					x, y, v, min(limit, 255))
			}
			out[k] = v
		}
	}
	return out, nil
}

// resizeNearest resamples a w×h row-major value grid to wo×ho, each output pixel taking
// the input pixel under its centre: src = ⌊(dst + 0.5)·n/size⌋.
func resizeNearest(vals []uint8, w, h, wo, ho int) []uint8 {
	out := make([]uint8, wo*ho)
	for y := range ho {
		sy := min(h-1, int((float64(y)+0.5)*float64(h)/float64(ho)))
		for x := range wo {
			sx := min(w-1, int((float64(x)+0.5)*float64(w)/float64(wo)))
			out[y*wo+x] = vals[sy*w+sx]
		}
	}
	return out
}
