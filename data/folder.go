package data

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // JPEG decoding
	_ "image/png"  // PNG decoding
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/disintegration/imaging"
)

// FolderItem is one image file of a folder dataset.
type FolderItem struct {
	File    string // path relative to the folder, slash-separated (or absolute, from a CSV)
	Label   int    // class index into ImageFolder.Classes
	Patient string // patient id; the file itself when none is given
}

// ImageFolder is a dataset of image files on disk: the list of files with their labels and
// patients, the shape every image is decoded to, and, after LoadImageFolder, the decoded
// images themselves.
type ImageFolder struct {
	Dir     string
	Classes []string // class names; label i means Classes[i]
	Items   []FolderItem
	// Height, Width, Channels of every decoded image (channels 1 grayscale or 3 RGB).
	Height, Width, Channels int
	// Skipped lists the files left out in SkipBadFiles mode, with their reasons.
	Skipped BadFiles
	// Images holds all images, in Items order, as one Split named "all" (LoadImageFolder
	// only; nil after ScanImageFolder). Dataset cuts it into train, val and test.
	Images *Split

	cfg folderConfig
}

// NumClasses is the number of classes of the folder's task: len(Classes), at least 2.
func (f *ImageFolder) NumClasses() int { return max(2, len(f.Classes)) }

// Task is Binary for two classes, MultiClass otherwise.
func (f *ImageFolder) Task() Task {
	if f.NumClasses() == 2 {
		return Binary
	}
	return MultiClass
}

// FolderOption configures ScanImageFolder, LoadImageFolder and OpenStream.
type FolderOption func(*folderConfig)

type folderConfig struct {
	height, width int
	channels      int
	csvPath       string
	unlabelled    bool
	fixed16       bool
	lo16, hi16    int
	skipBad       bool
	maxPixels     int64
	patientOf     func(file string) string
	filter        imaging.ResampleFilter
	workers       int
}

// DefaultMaxPixels is the largest image (width x height) the loaders decode unless
// FolderMaxPixels says otherwise: 64 Mpx (256 MB as RGBA). The size is read from the
// file's header before any pixel buffer is allocated, so a hostile header cannot make
// the decoder allocate more.
const DefaultMaxPixels = 1 << 26

// FolderImageSize resizes every image to height x width (imaging.Resize with the
// FolderResample filter, default imaging.Linear, which averages when shrinking). Without
// it the first file's size is used and other sizes are resized to it. Images already of
// that size are not resampled, so their pixels are kept exactly.
func FolderImageSize(height, width int) FolderOption {
	return func(c *folderConfig) { c.height, c.width = height, width }
}

// FolderRGB decodes images as RGB (3 channels) instead of grayscale (1 channel, the
// default; colour images are converted with Go's luma weights 0.299, 0.587, 0.114, as
// color.GrayModel does).
func FolderRGB() FolderOption { return func(c *folderConfig) { c.channels = 3 } }

// FolderLabelsCSV takes files and labels from a CSV file (a path, relative to the working
// directory) instead of class sub-folders. Its columns are file, label and, optionally,
// patient. The first row is a header when its first field is not a .png/.jpg/.jpeg file
// name; a header's columns are found by name (file|filename|path|image,
// label|class|target, patient|patient_id|subject), else by position. Files are relative
// to the folder (or absolute). Labels are class indices when every label is a
// non-negative integer (Classes are then "0".."max"), else class names, sorted, whose
// index is the label.
func FolderLabelsCSV(csvPath string) FolderOption {
	return func(c *folderConfig) { c.csvPath = csvPath }
}

// FolderUnlabelled takes every image under the folder, recursively, with label 0 and no
// classes: for self-supervised pretraining on unlabelled images.
func FolderUnlabelled() FolderOption { return func(c *folderConfig) { c.unlabelled = true } }

// Folder16BitRange maps 16-bit images (PNG Gray16 and 16-bit colour) to 8 bits with the
// fixed window [lo, hi]: v8 = round((clamp(v, lo, hi) - lo) * 255 / (hi - lo)), the same
// for every image, as CT or X-ray windows need. Without it each 16-bit image is stretched
// by its own minimum and maximum (lo = min, hi = max; a constant image becomes 0). 8-bit
// images are never rescaled.
func Folder16BitRange(lo, hi uint16) FolderOption {
	return func(c *folderConfig) { c.fixed16, c.lo16, c.hi16 = true, int(lo), int(hi) }
}

// SkipBadFiles makes the loaders leave out unreadable, truncated and unsupported files
// instead of failing on the first one. They are listed, with reasons, in
// ImageFolder.Skipped (and Stream.Skipped for files found bad while streaming).
func SkipBadFiles() FolderOption { return func(c *folderConfig) { c.skipBad = true } }

// FolderMaxPixels sets the largest image (width x height) decoded (default
// DefaultMaxPixels); larger files are bad files (ErrShape).
func FolderMaxPixels(n int64) FolderOption { return func(c *folderConfig) { c.maxPixels = n } }

// FolderPatients sets the patient id of each file (relative path, slash-separated) when
// no CSV patient column gives it; by default every file is its own patient.
func FolderPatients(patientOf func(file string) string) FolderOption {
	return func(c *folderConfig) { c.patientOf = patientOf }
}

// FolderResample sets the resampling filter used when resizing (default imaging.Linear).
func FolderResample(filter imaging.ResampleFilter) FolderOption {
	return func(c *folderConfig) { c.filter = filter }
}

// FolderWorkers sets the number of files decoded in parallel (default GOMAXPROCS).
func FolderWorkers(n int) FolderOption { return func(c *folderConfig) { c.workers = n } }

func newFolderConfig(opts []FolderOption) (folderConfig, error) {
	c := folderConfig{channels: 1, maxPixels: DefaultMaxPixels, filter: imaging.Linear, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.height < 0 || c.width < 0 || (c.height == 0) != (c.width == 0):
		return c, fmt.Errorf("data: FolderImageSize(%d, %d): want positive sizes: %w", c.height, c.width, ErrArgument)
	case c.fixed16 && c.hi16 <= c.lo16:
		return c, fmt.Errorf("data: Folder16BitRange(%d, %d): want lo < hi: %w", c.lo16, c.hi16, ErrArgument)
	case c.maxPixels < 1:
		return c, fmt.Errorf("data: FolderMaxPixels(%d): want >= 1: %w", c.maxPixels, ErrArgument)
	case c.workers < 1:
		return c, fmt.Errorf("data: FolderWorkers(%d): want >= 1: %w", c.workers, ErrArgument)
	case c.csvPath != "" && c.unlabelled:
		return c, fmt.Errorf("data: FolderLabelsCSV and FolderUnlabelled exclude each other: %w", ErrArgument)
	}
	return c, nil
}

// ScanImageFolder lists a folder's images without decoding them: labels from class
// sub-folders (dir/<class>/...; class names sorted give the class indices; files directly
// in dir are ignored), from a CSV (FolderLabelsCSV) or none (FolderUnlabelled). Only
// .png, .jpg and .jpeg files are images; other files in class folders are unsupported;
// names starting with "." are ignored. Each file's header is read to check that it is a
// PNG or JPEG within the size limit; the image shape is FolderImageSize or the first
// file's. Items are sorted by file name.
func ScanImageFolder(dir string, opts ...FolderOption) (*ImageFolder, error) {
	cfg, err := newFolderConfig(opts)
	if err != nil {
		return nil, err
	}
	f := &ImageFolder{Dir: dir, Channels: cfg.channels, cfg: cfg}
	var candidates []FolderItem
	var bad BadFiles
	switch {
	case cfg.csvPath != "":
		candidates, f.Classes, err = folderReadCSV(cfg.csvPath)
	default:
		candidates, f.Classes, bad, err = folderWalk(dir, cfg.unlabelled)
	}
	if err != nil {
		return nil, err
	}
	for i := range candidates {
		if candidates[i].Patient == "" {
			candidates[i].Patient = candidates[i].File
			if cfg.patientOf != nil {
				candidates[i].Patient = cfg.patientOf(candidates[i].File)
			}
		}
	}
	slices.SortFunc(candidates, func(a, b FolderItem) int { return strings.Compare(a.File, b.File) })
	for i := 1; i < len(candidates); i++ {
		if candidates[i].File == candidates[i-1].File {
			return nil, fmt.Errorf("data: %s: file %q listed twice: %w", dir, candidates[i].File, ErrArgument)
		}
	}
	for _, it := range candidates {
		w, h, err := folderHeader(f.path(it.File), it.File, cfg.maxPixels)
		if err != nil {
			bad = append(bad, BadFile{File: it.File, Err: err})
			continue
		}
		if f.Height == 0 {
			f.Height, f.Width = cfg.height, cfg.width
			if f.Height == 0 {
				f.Height, f.Width = h, w
			}
		}
		f.Items = append(f.Items, it)
	}
	if len(bad) > 0 && !cfg.skipBad {
		return nil, bad[0].Err
	}
	f.Skipped = bad
	if len(f.Items) == 0 {
		return nil, fmt.Errorf("data: %s: no readable images: %w", dir, ErrArgument)
	}
	return f, nil
}

// LoadImageFolder scans a folder (see ScanImageFolder) and decodes every image into
// memory, in parallel: f.Images is one Split of all images, and f.Dataset(manifest)
// gives the train, val and test Splits every protocol takes. Files that fail to decode
// are errors naming the file, or, with SkipBadFiles, are removed from Items and listed in
// Skipped.
func LoadImageFolder(dir string, opts ...FolderOption) (*ImageFolder, error) {
	f, err := ScanImageFolder(dir, opts...)
	if err != nil {
		return nil, err
	}
	sz := f.Height * f.Width * f.Channels
	pix := make([][]uint8, len(f.Items))
	errs := make([]error, len(f.Items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range f.cfg.workers {
		wg.Go(func() {
			for i := range next {
				pix[i], errs[i] = f.decodeFile(f.Items[i].File)
			}
		})
	}
	for i := range f.Items {
		next <- i
	}
	close(next)
	wg.Wait()

	s := &Split{Name: "all", Height: f.Height, Width: f.Width, Channels: f.Channels, LabelDim: 1,
		Task: f.Task(), NumClasses: f.NumClasses()}
	s.Images = make([]uint8, 0, len(f.Items)*sz)
	var kept []FolderItem
	for i, it := range f.Items {
		if errs[i] != nil {
			if !f.cfg.skipBad {
				return nil, errs[i]
			}
			f.Skipped = append(f.Skipped, BadFile{File: it.File, Err: errs[i]})
			continue
		}
		kept = append(kept, it)
		s.Images = append(s.Images, pix[i]...)
		s.Labels = append(s.Labels, int32(it.Label))
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("data: %s: no readable images: %w", dir, ErrArgument)
	}
	f.Items, s.N, f.Images = kept, len(kept), s
	return f, nil
}

// path is the file's location on disk.
func (f *ImageFolder) path(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(f.Dir, filepath.FromSlash(file))
}

// decodeFile reads and decodes one file to the folder's shape.
func (f *ImageFolder) decodeFile(file string) ([]uint8, error) {
	b, err := os.ReadFile(f.path(file))
	if err != nil {
		return nil, fileErr(file, ErrRead, err, "cannot read")
	}
	return f.cfg.decode(b, file, f.Height, f.Width)
}

// folderIsImage reports whether a file name has an image extension.
func folderIsImage(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// folderHeader reads a file's image header: its size, checked against the limit.
func folderHeader(p, file string, maxPixels int64) (w, h int, err error) {
	if !folderIsImage(file) {
		return 0, 0, fileErr(file, ErrUnsupported, nil, "not a .png, .jpg or .jpeg file")
	}
	fh, err := os.Open(p)
	if err != nil {
		return 0, 0, fileErr(file, ErrRead, err, "cannot open")
	}
	defer fh.Close()
	return folderConfigOf(fh, file, maxPixels)
}

// folderWalk lists the images under dir: in class sub-folders, or all of them when
// unlabelled.
func folderWalk(dir string, unlabelled bool) (items []FolderItem, classes []string, bad BadFiles, err error) {
	walk := func(root string, label int) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("data: %s: %w", p, err)
			}
			if strings.HasPrefix(d.Name(), ".") && p != root {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !folderIsImage(rel) {
				bad = append(bad, BadFile{File: rel, Err: fileErr(rel, ErrUnsupported, nil, "not a .png, .jpg or .jpeg file")})
				return nil
			}
			items = append(items, FolderItem{File: rel, Label: label})
			return nil
		})
	}
	if unlabelled {
		if err := walk(dir, 0); err != nil {
			return nil, nil, nil, err
		}
		return items, nil, bad, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("data: image folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, fmt.Errorf("data: %s: no class sub-folders (use FolderLabelsCSV or FolderUnlabelled): %w", dir, ErrArgument)
	}
	for label, c := range classes { // ReadDir sorts by name
		if err := walk(filepath.Join(dir, c), label); err != nil {
			return nil, nil, nil, err
		}
	}
	return items, classes, bad, nil
}

// folderReadCSV reads a labels CSV (see FolderLabelsCSV).
func folderReadCSV(csvPath string) ([]FolderItem, []string, error) {
	name := baseName(csvPath)
	fh, err := os.Open(csvPath)
	if err != nil {
		return nil, nil, fileErr(name, ErrRead, err, "cannot open labels CSV")
	}
	defer fh.Close()
	return folderParseCSV(fh, name)
}

// folderParseCSV parses a labels CSV read from r; name appears in errors.
func folderParseCSV(r io.Reader, name string) ([]FolderItem, []string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, nil, &FileError{File: name, Msg: "not a readable CSV", Kind: ErrFormat, Err: err}
	}
	if len(rows) == 0 {
		return nil, nil, &FileError{File: name, Msg: "empty labels CSV", Kind: ErrFormat}
	}
	if len(rows[0]) > 0 {
		rows[0][0] = strings.TrimPrefix(rows[0][0], "\ufeff") // byte-order mark of spreadsheet exports
	}
	colFile, colLabel, colPatient := 0, 1, 2
	first := 0
	if len(rows[0]) > 0 && !folderIsImage(strings.TrimSpace(rows[0][0])) {
		first = 1 // header
		found := [3]int{-1, -1, -1}
		for i, h := range rows[0] {
			switch strings.ToLower(strings.TrimSpace(h)) {
			case "file", "filename", "path", "image":
				found[0] = i
			case "label", "class", "target":
				found[1] = i
			case "patient", "patient_id", "subject":
				found[2] = i
			}
		}
		if found[0] >= 0 && found[1] >= 0 {
			colFile, colLabel, colPatient = found[0], found[1], found[2]
		}
	}
	type raw struct{ file, label, patient string }
	var recs []raw
	for i, row := range rows[first:] {
		line := fmt.Sprintf("line %d", first+i+1)
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) <= max(colFile, colLabel) {
			return nil, nil, &FileError{File: name, Key: line, Msg: fmt.Sprintf("%d fields, want file,label[,patient]", len(row)), Kind: ErrFormat}
		}
		rec := raw{file: path.Clean(filepath.ToSlash(strings.TrimSpace(row[colFile]))), label: strings.TrimSpace(row[colLabel])}
		if colPatient >= 0 && colPatient < len(row) {
			rec.patient = strings.TrimSpace(row[colPatient])
		}
		if rec.file == "." || rec.label == "" {
			return nil, nil, &FileError{File: name, Key: line, Msg: "empty file or label", Kind: ErrFormat}
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, nil, &FileError{File: name, Msg: "no rows", Kind: ErrFormat}
	}
	numeric := true
	for _, r := range recs {
		if _, err := strconv.Atoi(r.label); err != nil {
			numeric = false
			break
		}
	}
	var classes []string
	index := map[string]int{}
	if !numeric {
		for _, r := range recs {
			if _, ok := index[r.label]; !ok {
				index[r.label] = 0
				classes = append(classes, r.label)
			}
		}
		slices.Sort(classes)
		for i, c := range classes {
			index[c] = i
		}
	}
	items := make([]FolderItem, len(recs))
	maxLabel := 0
	for i, r := range recs {
		label := index[r.label]
		if numeric {
			label, _ = strconv.Atoi(r.label)
			if label < 0 || label > 1<<20 {
				return nil, nil, &FileError{File: name, Key: r.file, Msg: fmt.Sprintf("label %d, want 0..%d", label, 1<<20), Kind: ErrLabel}
			}
			maxLabel = max(maxLabel, label)
		}
		items[i] = FolderItem{File: r.file, Label: label, Patient: r.patient}
	}
	if numeric {
		for c := 0; c <= maxLabel; c++ {
			classes = append(classes, strconv.Itoa(c))
		}
	}
	return items, classes, nil
}

// folderConfigOf reads an image header from r and checks its size against the limit, so
// that nothing is allocated for a hostile header.
func folderConfigOf(r io.Reader, file string, maxPixels int64) (w, h int, err error) {
	c, format, err := image.DecodeConfig(r)
	switch {
	case errors.Is(err, image.ErrFormat):
		return 0, 0, fileErr(file, ErrUnsupported, nil, "not a PNG or JPEG image")
	case err != nil:
		return 0, 0, fileErr(file, ErrFormat, err, "unreadable image header")
	case format != "png" && format != "jpeg":
		return 0, 0, fileErr(file, ErrUnsupported, nil, "%s image, want PNG or JPEG", format)
	case c.Width <= 0 || c.Height <= 0:
		return 0, 0, fileErr(file, ErrFormat, nil, "empty %dx%d %s image", c.Width, c.Height, format)
	case int64(c.Width)*int64(c.Height) > maxPixels:
		return 0, 0, fileErr(file, ErrShape, nil, "%dx%d %s image exceeds the %d-pixel limit", c.Width, c.Height, format, maxPixels)
	}
	return c.Width, c.Height, nil
}

// decode turns an encoded PNG or JPEG into height x width x channels bytes: header check,
// decode, conversion to gray or RGB, 16-bit to 8-bit mapping, then resizing if needed.
func (c *folderConfig) decode(b []byte, file string, height, width int) ([]uint8, error) {
	w, h, err := folderConfigOf(bytes.NewReader(b), file, c.maxPixels)
	if err != nil {
		return nil, err
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr(file, ErrFormat, err, "truncated or corrupt image")
	}
	if r := img.Bounds(); r.Dx() != w || r.Dy() != h {
		return nil, fileErr(file, ErrFormat, nil, "%s decoded to %dx%d, header says %dx%d", format, r.Dx(), r.Dy(), w, h)
	}
	vals, deep := folderValues(img, c.channels)
	pix := c.to8(vals, deep)
	if w == width && h == height {
		return pix, nil
	}
	return folderResize(pix, w, h, c.channels, width, height, c.filter), nil
}

// folderValues extracts 16-bit values, [h, w, channels] row-major, and whether the
// source has 16 bits per sample. 8-bit samples v come out as v*257 (Go's colour
// convention); colour to gray uses color.GrayModel's weights; alpha is premultiplied
// (transparent pixels count as black).
func folderValues(img image.Image, channels int) (vals []uint16, deep bool) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	vals = make([]uint16, w*h*channels)
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				for k := range channels {
					vals[(y*w+x)*channels+k] = uint16(v) * 0x101
				}
			}
		}
		return vals, false
	case *image.Gray16:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+2*w]
			for x := range w {
				v := uint16(row[2*x])<<8 | uint16(row[2*x+1])
				for k := range channels {
					vals[(y*w+x)*channels+k] = v
				}
			}
		}
		return vals, true
	}
	model := img.ColorModel()
	deep = model == color.RGBA64Model || model == color.NRGBA64Model || model == color.Gray16Model
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if channels == 1 {
				vals[i] = uint16((19595*cr + 38470*cg + 7471*cb + 1<<15) >> 16)
				i++
				continue
			}
			vals[i], vals[i+1], vals[i+2] = uint16(cr), uint16(cg), uint16(cb)
			i += 3
		}
	}
	return vals, deep
}

// to8 maps 16-bit values to bytes: 8-bit sources exactly (v >> 8), 16-bit ones through
// the fixed window or the image's own min/max (see Folder16BitRange), rounding half up.
func (c *folderConfig) to8(vals []uint16, deep bool) []uint8 {
	out := make([]uint8, len(vals))
	if !deep {
		for i, v := range vals {
			out[i] = uint8(v >> 8)
		}
		return out
	}
	lo, hi := c.lo16, c.hi16
	if !c.fixed16 {
		lo, hi = 0xffff, 0
		for _, v := range vals {
			lo, hi = min(lo, int(v)), max(hi, int(v))
		}
		if hi <= lo {
			return out // constant image
		}
	}
	span := hi - lo
	for i, v := range vals {
		x := min(max(int(v), lo), hi) - lo
		out[i] = uint8((2*x*255 + span) / (2 * span))
	}
	return out
}

// folderResize resamples [h, w, channels] bytes to [th, tw, channels] with imaging.
func folderResize(pix []uint8, w, h, channels, tw, th int, filter imaging.ResampleFilter) []uint8 {
	var src image.Image
	if channels == 1 {
		src = &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}
	} else {
		rgba := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range w * h {
			copy(rgba.Pix[4*i:4*i+3], pix[3*i:3*i+3])
			rgba.Pix[4*i+3] = 0xff
		}
		src = rgba
	}
	dst := imaging.Resize(src, tw, th, filter)
	out := make([]uint8, tw*th*channels)
	for i := range tw * th {
		copy(out[i*channels:(i+1)*channels], dst.Pix[4*i:4*i+channels])
	}
	return out
}
