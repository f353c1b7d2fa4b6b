package folder

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

	"github.com/medssl/medssl/data"
)

// Folder is a dataset of image files on disk: the list of files with their labels and
// patients, the shape every image is decoded to, and, after Load, the decoded images
// themselves.
type Folder struct {
	Dir string
	// Classes are the class names (label i means Classes[i]), or for a multi-label folder
	// the label names (Item.Labels[l] is label Classes[l]).
	Classes []string
	// MultiLabel marks a folder read with MultiLabelCSV: each item has len(Classes) 0/1
	// Labels.
	MultiLabel bool
	// Items are the images, sorted by file: File is relative to Dir (slash-separated) or
	// absolute (from a CSV); Label indexes Classes (Labels for a multi-label folder);
	// Patient is the file itself when neither a CSV nor Patients gives one.
	Items []data.Item
	// Height, Width, Channels of every decoded image (channels 1 grayscale or 3 RGB).
	Height, Width, Channels int
	// Skipped lists the files left out in SkipBadFiles mode, with their reasons.
	Skipped data.BadFiles
	// Images holds all images, in Items order, as one Split named "all" (Load only; nil
	// after Scan). Dataset cuts it into train, val and test.
	Images *data.Split

	cfg config
}

// NumClasses is the number of classes of the folder's task: len(Classes), at least 2 (for
// a multi-label folder, the number of labels).
func (f *Folder) NumClasses() int { return max(2, len(f.Classes)) }

// LabelDim is the number of labels per image: len(Classes) for a multi-label folder, 1
// otherwise.
func (f *Folder) LabelDim() int {
	if f.MultiLabel {
		return len(f.Classes)
	}
	return 1
}

// Task is data.MultiLabel for a multi-label folder, data.Binary for two classes,
// data.MultiClass otherwise.
func (f *Folder) Task() data.Task {
	if f.MultiLabel {
		return data.MultiLabel
	}
	if f.NumClasses() == 2 {
		return data.Binary
	}
	return data.MultiClass
}

// SkipsBadFiles reports whether the folder was scanned with SkipBadFiles: whether a file
// that fails to decode is to be left out (and reported) rather than be an error. Readers
// of the folder's files that decode them later (package data/stream) follow it.
func (f *Folder) SkipsBadFiles() bool { return f.cfg.skipBad }

// Option configures Scan and Load, and so how the folder's files are decoded, by Load
// and later by Decode.
type Option func(*config)

type config struct {
	height, width int
	channels      int
	csvPath       string
	multiLabel    bool     // csvPath is a multi-label CSV
	labelColumns  []string // its label columns; empty: every 0/1 column
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
// MaxPixels says otherwise: 64 Mpx (256 MB as RGBA). The size is read from the
// file's header before any pixel buffer is allocated, so a hostile header cannot make
// the decoder allocate more.
const DefaultMaxPixels = 1 << 26

// ImageSize resizes every image to height x width (imaging.Resize with the Resample
// filter, default imaging.Linear, which averages when shrinking). Without it the first
// file's size is used and other sizes are resized to it. Images already of that size are
// not resampled, so their pixels are kept exactly.
func ImageSize(height, width int) Option {
	return func(c *config) { c.height, c.width = height, width }
}

// RGB decodes images as RGB (3 channels) instead of grayscale (1 channel, the
// default; colour images are converted with Go's luma weights 0.299, 0.587, 0.114, as
// color.GrayModel does).
func RGB() Option { return func(c *config) { c.channels = 3 } }

// LabelsCSV takes files and labels from a CSV file (a path, relative to the working
// directory) instead of class sub-folders. Its columns are file, label and, optionally,
// patient. The first row is a header when its first field is not a .png/.jpg/.jpeg file
// name; a header's columns are found by name (file|filename|path|image,
// label|class|target, patient|patient_id|subject), else by position. Files are relative
// to the folder (or absolute). Labels are class indices when every label is a
// non-negative integer (Classes are then "0".."max"), else class names, sorted, whose
// index is the label.
func LabelsCSV(csvPath string) Option {
	return func(c *config) { c.csvPath, c.multiLabel, c.labelColumns = csvPath, false, nil }
}

// MultiLabelCSV takes files and several 0/1 labels per file from a CSV file (a path,
// relative to the working directory), making a multi-label folder (Folder.MultiLabel,
// task data.MultiLabel): a chest X-ray with effusion and cardiomegaly at once. The CSV
// needs a header row. Its file column is found by name as for LabelsCSV
// (file|filename|path|image) and its patient column, optional, too
// (patient|patient_id|subject). The label columns are the named columns, in the given
// order; with no names, every other column whose values are all 0 or 1 is a label, in
// header order, so metadata columns such as age, sex or view are left out by their
// values (a 0/1-coded metadata column would be taken as a label: name the columns then).
// At least two label columns are needed (one 0/1 column is a binary task: LabelsCSV).
// The label names (Classes) are the columns' headers. A named label column holding
// anything but 0 or 1 is an error naming the file, line and column.
func MultiLabelCSV(csvPath string, columns ...string) Option {
	return func(c *config) { c.csvPath, c.multiLabel, c.labelColumns = csvPath, true, columns }
}

// Unlabelled takes every image under the folder, recursively, with label 0 and no
// classes: for self-supervised pretraining on unlabelled images.
func Unlabelled() Option { return func(c *config) { c.unlabelled = true } }

// Range16Bit maps 16-bit images (PNG Gray16 and 16-bit colour) to 8 bits with the
// fixed window [lo, hi]: v8 = round((clamp(v, lo, hi) - lo) * 255 / (hi - lo)), the same
// for every image, as CT or X-ray windows need. Without it each 16-bit image is stretched
// by its own minimum and maximum (lo = min, hi = max; a constant image becomes 0). 8-bit
// images are never rescaled.
func Range16Bit(lo, hi uint16) Option {
	return func(c *config) { c.fixed16, c.lo16, c.hi16 = true, int(lo), int(hi) }
}

// SkipBadFiles makes the loaders leave out unreadable, truncated and unsupported files
// instead of failing on the first one. They are listed, with reasons, in Folder.Skipped
// (and, for files found bad while streaming, in data/stream's Stream.Skipped).
func SkipBadFiles() Option { return func(c *config) { c.skipBad = true } }

// MaxPixels sets the largest image (width x height) decoded (default DefaultMaxPixels);
// larger files are bad files (data.ErrShape).
func MaxPixels(n int64) Option { return func(c *config) { c.maxPixels = n } }

// Patients sets the patient id of each file (relative path, slash-separated) when no CSV
// patient column gives it; by default every file is its own patient.
func Patients(patientOf func(file string) string) Option {
	return func(c *config) { c.patientOf = patientOf }
}

// Resample sets the resampling filter used when resizing (default imaging.Linear).
func Resample(filter imaging.ResampleFilter) Option {
	return func(c *config) { c.filter = filter }
}

// Workers sets the number of files Load decodes in parallel (default GOMAXPROCS).
func Workers(n int) Option { return func(c *config) { c.workers = n } }

func newConfig(opts []Option) (config, error) {
	c := config{channels: 1, maxPixels: DefaultMaxPixels, filter: imaging.Linear, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.height < 0 || c.width < 0 || (c.height == 0) != (c.width == 0):
		return c, fmt.Errorf("folder: ImageSize(%d, %d): want positive sizes: %w", c.height, c.width, data.ErrArgument)
	case c.fixed16 && c.hi16 <= c.lo16:
		return c, fmt.Errorf("folder: Range16Bit(%d, %d): want lo < hi: %w", c.lo16, c.hi16, data.ErrArgument)
	case c.maxPixels < 1:
		return c, fmt.Errorf("folder: MaxPixels(%d): want >= 1: %w", c.maxPixels, data.ErrArgument)
	case c.workers < 1:
		return c, fmt.Errorf("folder: Workers(%d): want >= 1: %w", c.workers, data.ErrArgument)
	case c.csvPath != "" && c.unlabelled:
		return c, fmt.Errorf("folder: LabelsCSV (or MultiLabelCSV) and Unlabelled exclude each other: %w", data.ErrArgument)
	}
	return c, nil
}

// Scan lists a folder's images without decoding them: labels from class sub-folders
// (dir/<class>/...; class names sorted give the class indices; files directly in dir are
// ignored), from a CSV (LabelsCSV) or none (Unlabelled). Only .png, .jpg and .jpeg files
// are images; other files in class folders are unsupported; names starting with "." are
// ignored. Each file's header is read to check that it is a PNG or JPEG within the size
// limit; the image shape is ImageSize or the first file's. Items are sorted by file name.
func Scan(dir string, opts ...Option) (*Folder, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	f := &Folder{Dir: dir, Channels: cfg.channels, cfg: cfg}
	var candidates []data.Item
	var bad data.BadFiles
	switch {
	case cfg.csvPath != "" && cfg.multiLabel:
		candidates, f.Classes, err = readMultiLabelCSV(cfg.csvPath, cfg.labelColumns)
		f.MultiLabel = true
	case cfg.csvPath != "":
		candidates, f.Classes, err = readCSV(cfg.csvPath)
	default:
		candidates, f.Classes, bad, err = listImages(dir, cfg.unlabelled)
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
	slices.SortFunc(candidates, func(a, b data.Item) int { return strings.Compare(a.File, b.File) })
	for i := 1; i < len(candidates); i++ {
		if candidates[i].File == candidates[i-1].File {
			return nil, fmt.Errorf("folder: %s: file %q listed twice: %w", dir, candidates[i].File, data.ErrArgument)
		}
	}
	for _, it := range candidates {
		w, h, err := readHeader(f.path(it.File), it.File, cfg.maxPixels)
		if err != nil {
			bad = append(bad, data.BadFile{File: it.File, Err: err})
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
		return nil, fmt.Errorf("folder: %s: no readable images: %w", dir, data.ErrArgument)
	}
	return f, nil
}

// Load scans a folder (see Scan) and decodes every image into memory, in parallel (see
// Workers): f.Images is one Split of all images, and f.Dataset(manifest) gives the train,
// val and test Splits every protocol takes. Files that fail to decode are errors naming
// the file, or, with SkipBadFiles, are removed from Items and listed in Skipped.
func Load(dir string, opts ...Option) (*Folder, error) {
	f, err := Scan(dir, opts...)
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
				pix[i], errs[i] = f.Decode(i)
			}
		})
	}
	for i := range f.Items {
		next <- i
	}
	close(next)
	wg.Wait()

	s := &data.Split{Name: "all", Height: f.Height, Width: f.Width, Channels: f.Channels, LabelDim: f.LabelDim(),
		Task: f.Task(), NumClasses: f.NumClasses()}
	s.Images = make([]uint8, 0, len(f.Items)*sz)
	var kept []data.Item
	for i, it := range f.Items {
		if errs[i] != nil {
			if !f.cfg.skipBad {
				return nil, errs[i]
			}
			f.Skipped = append(f.Skipped, data.BadFile{File: it.File, Err: errs[i]})
			continue
		}
		kept = append(kept, it)
		s.Images = append(s.Images, pix[i]...)
		if f.MultiLabel {
			for _, v := range it.Labels {
				s.Labels = append(s.Labels, int32(v))
			}
		} else {
			s.Labels = append(s.Labels, int32(it.Label))
		}
		s.Patients = append(s.Patients, it.Patient)
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("folder: %s: no readable images: %w", dir, data.ErrArgument)
	}
	f.Items, s.N, f.Images = kept, len(kept), s
	return f, nil
}

// path is the file's location on disk.
func (f *Folder) path(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join(f.Dir, filepath.FromSlash(file))
}

// Decode reads item i's file and decodes it with the folder's options (size, channels,
// 16-bit range, resampling, pixel limit): Height x Width x Channels bytes, channels-last,
// a new slice on every call. It does not use or change f.Images, so it also serves folders
// that are only scanned (data/stream reads them this way). A file that cannot be read or
// decoded is a *data.FileError naming it (wrapping data.ErrRead, data.ErrUnsupported,
// data.ErrFormat or data.ErrShape); Decode reports it whatever SkipsBadFiles says.
func (f *Folder) Decode(i int) ([]uint8, error) {
	if i < 0 || i >= len(f.Items) {
		return nil, fmt.Errorf("folder: Decode(%d): out of range [0, %d): %w", i, len(f.Items), data.ErrArgument)
	}
	file := f.Items[i].File
	b, err := os.ReadFile(f.path(file))
	if err != nil {
		return nil, fileErr(file, data.ErrRead, err, "cannot read")
	}
	return f.cfg.decode(b, file, f.Height, f.Width)
}

// fileErr builds the *data.FileError of one file, reported by this package.
func fileErr(file string, kind error, cause error, format string, args ...any) *data.FileError {
	return &data.FileError{Pkg: "folder", File: file, Msg: fmt.Sprintf(format, args...), Kind: kind, Err: cause}
}

// isImage reports whether a file name has an image extension.
func isImage(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// readHeader reads the image header of file (at path p): its size, checked against the
// limit.
func readHeader(p, file string, maxPixels int64) (w, h int, err error) {
	if !isImage(file) {
		return 0, 0, fileErr(file, data.ErrUnsupported, nil, "not a .png, .jpg or .jpeg file")
	}
	fh, err := os.Open(p)
	if err != nil {
		return 0, 0, fileErr(file, data.ErrRead, err, "cannot open")
	}
	defer fh.Close()
	return checkHeader(fh, file, maxPixels)
}

// listImages lists the images under dir: in class sub-folders, or all of them when
// unlabelled.
func listImages(dir string, unlabelled bool) (items []data.Item, classes []string, bad data.BadFiles, err error) {
	walk := func(root string, label int) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("folder: %s: %w", p, err)
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
			if !isImage(rel) {
				bad = append(bad, data.BadFile{File: rel, Err: fileErr(rel, data.ErrUnsupported, nil, "not a .png, .jpg or .jpeg file")})
				return nil
			}
			items = append(items, data.Item{File: rel, Label: label})
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
		return nil, nil, nil, fmt.Errorf("folder: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			classes = append(classes, e.Name())
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, fmt.Errorf("folder: %s: no class sub-folders (use LabelsCSV or Unlabelled): %w", dir, data.ErrArgument)
	}
	for label, c := range classes { // ReadDir sorts by name
		if err := walk(filepath.Join(dir, c), label); err != nil {
			return nil, nil, nil, err
		}
	}
	return items, classes, bad, nil
}

// readCSV reads a labels CSV (see LabelsCSV).
func readCSV(csvPath string) ([]data.Item, []string, error) {
	name := filepath.Base(csvPath)
	fh, err := os.Open(csvPath)
	if err != nil {
		return nil, nil, fileErr(name, data.ErrRead, err, "cannot open labels CSV")
	}
	defer fh.Close()
	return parseCSV(fh, name)
}

// csvRows reads every row of a CSV (rows may differ in length; leading spaces trimmed);
// name appears in errors.
func csvRows(r io.Reader, name string) ([][]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fileErr(name, data.ErrFormat, err, "not a readable CSV")
	}
	return rows, nil
}

// parseCSV parses a labels CSV read from r; name appears in errors.
func parseCSV(r io.Reader, name string) ([]data.Item, []string, error) {
	rows, err := csvRows(r, name)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "empty labels CSV")
	}
	if len(rows[0]) > 0 {
		rows[0][0] = strings.TrimPrefix(rows[0][0], "\ufeff") // byte-order mark of spreadsheet exports
	}
	colFile, colLabel, colPatient := 0, 1, 2
	first := 0
	if len(rows[0]) > 0 && !isImage(strings.TrimSpace(rows[0][0])) {
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
			return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: line, Msg: fmt.Sprintf("%d fields, want file,label[,patient]", len(row)), Kind: data.ErrFormat}
		}
		rec := raw{file: path.Clean(filepath.ToSlash(strings.TrimSpace(row[colFile]))), label: strings.TrimSpace(row[colLabel])}
		if colPatient >= 0 && colPatient < len(row) {
			rec.patient = strings.TrimSpace(row[colPatient])
		}
		if rec.file == "." || rec.label == "" {
			return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: line, Msg: "empty file or label", Kind: data.ErrFormat}
		}
		recs = append(recs, rec)
	}
	if len(recs) == 0 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "no rows")
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
	items := make([]data.Item, len(recs))
	maxLabel := 0
	for i, r := range recs {
		label := index[r.label]
		if numeric {
			label, _ = strconv.Atoi(r.label)
			if label < 0 || label > 1<<20 {
				return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: r.file, Msg: fmt.Sprintf("label %d, want 0..%d", label, 1<<20), Kind: data.ErrLabel}
			}
			maxLabel = max(maxLabel, label)
		}
		items[i] = data.Item{File: r.file, Label: label, Patient: r.patient}
	}
	if numeric {
		for c := 0; c <= maxLabel; c++ {
			classes = append(classes, strconv.Itoa(c))
		}
	}
	return items, classes, nil
}

// checkHeader reads an image header from r and checks its size against the limit, so
// that nothing is allocated for a hostile header.
func checkHeader(r io.Reader, file string, maxPixels int64) (w, h int, err error) {
	c, format, err := image.DecodeConfig(r)
	switch {
	case errors.Is(err, image.ErrFormat):
		return 0, 0, fileErr(file, data.ErrUnsupported, nil, "not a PNG or JPEG image")
	case err != nil:
		return 0, 0, fileErr(file, data.ErrFormat, err, "unreadable image header")
	case format != "png" && format != "jpeg":
		return 0, 0, fileErr(file, data.ErrUnsupported, nil, "%s image, want PNG or JPEG", format)
	case c.Width <= 0 || c.Height <= 0:
		return 0, 0, fileErr(file, data.ErrFormat, nil, "empty %dx%d %s image", c.Width, c.Height, format)
	case int64(c.Width)*int64(c.Height) > maxPixels:
		return 0, 0, fileErr(file, data.ErrShape, nil, "%dx%d %s image exceeds the %d-pixel limit", c.Width, c.Height, format, maxPixels)
	}
	return c.Width, c.Height, nil
}

// decode turns an encoded PNG or JPEG into height x width x channels bytes: header check,
// decode, conversion to gray or RGB, 16-bit to 8-bit mapping, then resizing if needed.
func (c *config) decode(b []byte, file string, height, width int) ([]uint8, error) {
	w, h, err := checkHeader(bytes.NewReader(b), file, c.maxPixels)
	if err != nil {
		return nil, err
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fileErr(file, data.ErrFormat, err, "truncated or corrupt image")
	}
	if r := img.Bounds(); r.Dx() != w || r.Dy() != h {
		return nil, fileErr(file, data.ErrFormat, nil, "%s decoded to %dx%d, header says %dx%d", format, r.Dx(), r.Dy(), w, h)
	}
	vals, deep := values(img, c.channels)
	pix := c.to8(vals, deep)
	if w == width && h == height {
		return pix, nil
	}
	return resize(pix, w, h, c.channels, width, height, c.filter), nil
}

// values extracts 16-bit values, [h, w, channels] row-major, and whether the
// source has 16 bits per sample. 8-bit samples v come out as v*257 (Go's colour
// convention); colour to gray uses color.GrayModel's weights; alpha is premultiplied
// (transparent pixels count as black).
func values(img image.Image, channels int) (vals []uint16, deep bool) {
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
// the fixed window or the image's own min/max (see Range16Bit), rounding half up.
func (c *config) to8(vals []uint16, deep bool) []uint8 {
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

// resize resamples [h, w, channels] bytes to [th, tw, channels] with imaging.
func resize(pix []uint8, w, h, channels, tw, th int, filter imaging.ResampleFilter) []uint8 {
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
