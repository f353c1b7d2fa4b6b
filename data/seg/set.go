package seg

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/nifti"
)

// Sentinels of this package's errors, beside data's (data.ErrRead, data.ErrFormat for
// unreadable files, data.ErrLabel for label values, data.ErrArgument for bad arguments).
var (
	// ErrUnmatched: an image without a label file, or a label without an image.
	ErrUnmatched = errors.New("unmatched file")
	// ErrGeometry: an image and its label volume differ in dimensions or affine, or a
	// volume has a shape the reader does not take (4D).
	ErrGeometry = errors.New("image and label grids differ")
)

// Case is one labelled image: an image volume and its label map on the same voxel grid.
type Case struct {
	// Name identifies the case: the label file's name without its extension
	// ("hippocampus_001").
	Name string
	// ImageFile and LabelFile are the files read, relative to the set's Dir
	// (slash-separated).
	ImageFile, LabelFile string
	// Patient groups cases for splits: Name unless a PatientOf option says otherwise.
	Patient string
	// Image is the image volume (3D: Dims[3] == 1).
	Image *data.Volume
	// Labels holds the class of every voxel of Image, in Image.Data's order.
	Labels []uint8
}

// Set is a labelled segmentation dataset: its cases sorted by name.
type Set struct {
	Dir   string
	Cases []Case
	// NumClasses is the number of classes, background (0) included: the NumClasses option,
	// or the largest label found plus one (at least 2).
	NumClasses int
	// Skipped lists the files left out with SkipBadFiles, with the reason.
	Skipped data.BadFiles
}

// Option configures LoadNIfTI and Load2D.
type Option func(*config)

type config struct {
	images, labels string
	skipBad        bool
	numClasses     int
	affineTol      float64
	patientOf      func(name string) string
	workers        int
	// 2D folders only.
	maskSuffix    string
	maskMode      MaskMode
	height, width int
}

func newConfig(opts []Option) (config, error) {
	c := config{affineTol: DefaultAffineTolerance, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(&c)
	}
	switch {
	case c.numClasses < 0 || c.numClasses == 1 || c.numClasses > 256:
		return c, fmt.Errorf("seg: NumClasses(%d): want 2 to 256: %w", c.numClasses, data.ErrArgument)
	case !(c.affineTol >= 0):
		return c, fmt.Errorf("seg: AffineTolerance(%v): want >= 0: %w", c.affineTol, data.ErrArgument)
	case c.workers < 1:
		return c, fmt.Errorf("seg: Workers(%d): want >= 1: %w", c.workers, data.ErrArgument)
	case c.height < 0 || c.width < 0 || (c.height == 0) != (c.width == 0):
		return c, fmt.Errorf("seg: Resize(%d, %d): want positive sizes: %w", c.height, c.width, data.ErrArgument)
	case (c.images == "") != (c.labels == ""):
		return c, fmt.Errorf("seg: Folders(%q, %q): name both folders: %w", c.images, c.labels, data.ErrArgument)
	}
	return c, nil
}

// DefaultAffineTolerance is the largest difference allowed between an image's and its
// label's affine entries (mm for the translation, unitless for the rest): far above the
// float32 rounding of headers written by different tools, far below a voxel.
const DefaultAffineTolerance = 1e-3

// Folders names the image and label sub-folders (default: imagesTr and labelsTr, or
// images and labels, whichever exists; for Load2D images and masks).
func Folders(images, labels string) Option {
	return func(c *config) { c.images, c.labels = images, labels }
}

// SkipBadFiles leaves out unmatched, unreadable and inconsistent files (and their
// partners) and lists them in Set.Skipped, instead of failing on the first.
func SkipBadFiles() Option { return func(c *config) { c.skipBad = true } }

// NumClasses fixes the number of classes (background included): a label value >= k is
// then an error. Without it the set has the largest label found plus one.
func NumClasses(k int) Option { return func(c *config) { c.numClasses = k } }

// AffineTolerance sets how far an image's and its label's affines may differ (default
// DefaultAffineTolerance).
func AffineTolerance(tol float64) Option { return func(c *config) { c.affineTol = tol } }

// PatientOf sets the patient of each case from its name, for data sets with several
// volumes per patient: a split then keeps a patient's volumes together.
func PatientOf(f func(name string) string) Option { return func(c *config) { c.patientOf = f } }

// Workers sets how many files are decoded in parallel (default GOMAXPROCS).
func Workers(n int) Option { return func(c *config) { c.workers = n } }

// fileErr is a *data.FileError reported by this package.
func fileErr(file string, kind, cause error, format string, args ...any) *data.FileError {
	return &data.FileError{Pkg: "seg", File: file, Msg: fmt.Sprintf(format, args...), Kind: kind, Err: cause}
}

// niftiStem returns a NIfTI file's name without its extension, or "" for other files.
// The .img half of a .hdr/.img pair is not listed (the .hdr names the pair).
func niftiStem(name string) string {
	lower := strings.ToLower(name)
	for _, ext := range []string{".nii.gz", ".nii", ".hdr.gz", ".hdr"} {
		if strings.HasSuffix(lower, ext) {
			return name[:len(name)-len(ext)]
		}
	}
	return ""
}

// isCompanion reports whether name is the .img half of a .hdr/.img pair.
func isCompanion(name string) bool {
	lower := strings.ToLower(name)
	return strings.HasSuffix(lower, ".img") || strings.HasSuffix(lower, ".img.gz")
}

// subFolders returns the image and label folders of dir.
func (c config) subFolders(dir string, defaults [][2]string) (string, string, error) {
	if c.images != "" {
		return c.images, c.labels, nil
	}
	for _, d := range defaults {
		a, errA := os.Stat(filepath.Join(dir, d[0]))
		b, errB := os.Stat(filepath.Join(dir, d[1]))
		if errA == nil && errB == nil && a.IsDir() && b.IsDir() {
			return d[0], d[1], nil
		}
	}
	var names []string
	for _, d := range defaults {
		names = append(names, d[0]+"/ and "+d[1]+"/")
	}
	return "", "", fmt.Errorf("seg: %s: no %s (name them with seg.Folders): %w", dir, strings.Join(names, " or "), data.ErrArgument)
}

// listFiles returns the regular files of dir/sub (names starting with "." skipped).
func listFiles(dir, sub string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, sub))
	if err != nil {
		return nil, fmt.Errorf("seg: %w: %w", err, data.ErrRead)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		out = append(out, e.Name())
	}
	return out, nil
}

// pairing is the result of matching image files with label files by name.
type pairing struct {
	cases []Case // Name, ImageFile, LabelFile set
	bad   data.BadFiles
}

// match pairs images with labels: a label whose stem is "x" takes the image whose stem is
// "x", or "x_0000" (nnU-Net's name for the first channel). imgStem and lblStem return a
// file's stem ("" for a file of the wrong kind, which is then reported).
func match(imgSub, lblSub string, images, labels []string, imgStem, lblStem func(string) string, kind string) pairing {
	var p pairing
	// stemOf returns a file's path and stem, or "" for a companion file (skipped) or a file
	// of the wrong kind (reported).
	stemOf := func(sub, f string, stem func(string) string) (file, s string) {
		file, s = path.Join(sub, f), stem(f)
		if s == "" && !(isCompanion(f) && kind == "NIfTI") {
			p.bad = append(p.bad, data.BadFile{File: file, Err: fileErr(file, data.ErrUnsupported, nil, "not a %s file", kind)})
		}
		return file, s
	}
	imgByStem := map[string]string{}
	for _, f := range images {
		file, s := stemOf(imgSub, f, imgStem)
		if s == "" {
			continue
		}
		if prev, dup := imgByStem[s]; dup {
			p.bad = append(p.bad, data.BadFile{File: file, Err: fileErr(file, ErrUnmatched, nil, "same name as %s", prev)})
			continue
		}
		imgByStem[s] = file
	}
	used := map[string]bool{}
	for _, f := range labels {
		file, s := stemOf(lblSub, f, lblStem)
		if s == "" {
			continue
		}
		img, ok := imgByStem[s]
		key := s
		if !ok {
			key = s + "_0000"
			img, ok = imgByStem[key]
		}
		if !ok || used[key] {
			p.bad = append(p.bad, data.BadFile{File: file, Err: fileErr(file, ErrUnmatched, nil, "label without an image named %s in %s/", s, imgSub)})
			continue
		}
		used[key] = true
		p.cases = append(p.cases, Case{Name: s, ImageFile: img, LabelFile: file})
	}
	for s, file := range imgByStem {
		if !used[s] {
			p.bad = append(p.bad, data.BadFile{File: file, Err: fileErr(file, ErrUnmatched, nil, "image without a label named %s in %s/", s, lblSub)})
		}
	}
	slices.SortFunc(p.bad, func(a, b data.BadFile) int { return strings.Compare(a.File, b.File) })
	slices.SortFunc(p.cases, func(a, b Case) int { return strings.Compare(a.Name, b.Name) })
	return p
}

// LoadNIfTI reads a folder of NIfTI image and label volumes (see the package
// documentation for the layout and the checks). Images may be of any NIfTI voxel type;
// they are read as float32 after the file's scaling (data/nifti). Only 3D volumes are
// taken (a 4D, multi-channel image is ErrGeometry).
func LoadNIfTI(dir string, opts ...Option) (*Set, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	imgSub, lblSub, err := cfg.subFolders(dir, [][2]string{{"imagesTr", "labelsTr"}, {"images", "labels"}})
	if err != nil {
		return nil, err
	}
	images, err := listFiles(dir, imgSub)
	if err != nil {
		return nil, err
	}
	labels, err := listFiles(dir, lblSub)
	if err != nil {
		return nil, err
	}
	p := match(imgSub, lblSub, images, labels, niftiStem, niftiStem, "NIfTI")
	read := func(c *Case) error {
		img, err := nifti.Read(filepath.Join(dir, filepath.FromSlash(c.ImageFile)))
		if err != nil {
			return fileErr(c.ImageFile, data.ErrFormat, err, "unreadable image")
		}
		lbl, err := nifti.Read(filepath.Join(dir, filepath.FromSlash(c.LabelFile)))
		if err != nil {
			return fileErr(c.LabelFile, data.ErrFormat, err, "unreadable label volume")
		}
		if err := checkGrids(c, img, lbl, cfg.affineTol); err != nil {
			return err
		}
		c.Image = img
		c.Labels, err = labelValues(c.LabelFile, lbl.Data, lbl.Dims, cfg.numClasses)
		return err
	}
	cases, skipped, err := readCases(p, cfg, read)
	if err != nil {
		return nil, err
	}
	return newSet(dir, cases, skipped, cfg)
}

// readCases reads every matched case in parallel and applies the skip rule: it returns the
// cases read and the files left out (or the first problem, without SkipBadFiles).
func readCases(p pairing, cfg config, read func(*Case) error) ([]Case, data.BadFiles, error) {
	if len(p.bad) > 0 && !cfg.skipBad {
		return nil, nil, p.bad[0].Err
	}
	errs := make([]error, len(p.cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cfg.workers, max(1, len(p.cases))) {
		wg.Go(func() {
			for i := range next {
				errs[i] = read(&p.cases[i])
			}
		})
	}
	for i := range p.cases {
		next <- i
	}
	close(next)
	wg.Wait()
	var kept []Case
	skipped := p.bad
	for i, c := range p.cases {
		if errs[i] == nil {
			kept = append(kept, c)
			continue
		}
		if !cfg.skipBad {
			return nil, nil, errs[i]
		}
		skipped = append(skipped, data.BadFile{File: badFileName(errs[i], c.ImageFile), Err: errs[i]})
	}
	return kept, skipped, nil
}

// badFileName is the file a *data.FileError names, else def.
func badFileName(err error, def string) string {
	var fe *data.FileError
	if errors.As(err, &fe) {
		return fe.File
	}
	return def
}

// newSet makes the Set of the cases read: patients and the number of classes.
func newSet(dir string, cases []Case, skipped data.BadFiles, cfg config) (*Set, error) {
	if len(cases) == 0 {
		return nil, fmt.Errorf("seg: %s: no readable image/label pairs: %w", dir, data.ErrArgument)
	}
	s := &Set{Dir: dir, Cases: cases, Skipped: skipped, NumClasses: cfg.numClasses}
	for i := range s.Cases {
		c := &s.Cases[i]
		c.Patient = c.Name
		if cfg.patientOf != nil {
			if c.Patient = cfg.patientOf(c.Name); c.Patient == "" {
				return nil, fmt.Errorf("seg: PatientOf(%q) is empty: %w", c.Name, data.ErrArgument)
			}
		}
	}
	if s.NumClasses == 0 {
		s.NumClasses = 2
		for _, c := range s.Cases {
			for _, v := range c.Labels {
				s.NumClasses = max(s.NumClasses, int(v)+1)
			}
		}
	}
	return s, nil
}

// checkGrids checks that an image and its label volume are 3D and on the same grid.
func checkGrids(c *Case, img, lbl *data.Volume, tol float64) error {
	if img.Dims[3] != 1 {
		return fileErr(c.ImageFile, ErrGeometry, nil, "a 4D image of %d time points or channels (only 3D volumes are read)", img.Dims[3])
	}
	if img.Dims != lbl.Dims {
		return fileErr(c.LabelFile, ErrGeometry, nil, "dimensions %v, the image %s has %v", lbl.Dims[:3], c.ImageFile, img.Dims[:3])
	}
	for r := range 3 {
		for col := range 4 {
			if d := math.Abs(img.Affine[r][col] - lbl.Affine[r][col]); !(d <= tol) {
				return fileErr(c.LabelFile, ErrGeometry, nil, "affine[%d][%d] = %g, the image %s has %g (tolerance %g)",
					r, col, lbl.Affine[r][col], c.ImageFile, img.Affine[r][col], tol)
			}
		}
	}
	return nil
}

// labelValues converts label voxels to classes, checking that each is a whole number in
// [0, 255] (and below numClasses when > 0).
func labelValues(file string, vox []float32, dims [4]int, numClasses int) ([]uint8, error) {
	limit := 256
	if numClasses > 0 {
		limit = numClasses
	}
	out := make([]uint8, len(vox))
	for n, v := range vox {
		if f := float64(v); f != math.Trunc(f) || f < 0 || f >= float64(limit) {
			i, j, k := n%dims[0], n/dims[0]%dims[1], n/(dims[0]*dims[1])%dims[2]
			what := "not a whole number"
			if f == math.Trunc(f) {
				what = fmt.Sprintf("outside [0, %d)", limit)
			}
			return nil, fileErr(file, data.ErrLabel, nil, "voxel (%d, %d, %d) holds %v: %s (labels must be class indices)", i, j, k, v, what)
		}
		out[n] = uint8(v)
	}
	return out, nil
}

// Items returns one data.Item per case, for data.SplitByPatient: File is the image file,
// Patient the case's patient, Label 0 (splits of segmentation sets are not stratified).
func (s *Set) Items() []data.Item {
	out := make([]data.Item, len(s.Cases))
	for i, c := range s.Cases {
		out[i] = data.Item{File: c.ImageFile, Patient: c.Patient}
	}
	return out
}

// Split assigns every case (every patient's cases together) to train, val or test with
// data.SplitByPatient: fractions count images, here volumes. The manifest lists each
// case's image file; Select cuts the set by it.
func (s *Set) Split(fractions data.SplitFractions, seed int64) (*data.Manifest, error) {
	return data.SplitByPatient(s.Items(), fractions, seed)
}

// Select returns the cases manifest m puts in split ("train", "val" or "test"), in the
// set's order. Every case must be in m with its patient, and every entry of m in the set:
// a manifest of other files is an error, not a silent mismatch.
func (s *Set) Select(m *data.Manifest, split string) (*Set, error) {
	if m == nil {
		return nil, fmt.Errorf("seg: Select: nil manifest: %w", data.ErrArgument)
	}
	if !slices.Contains(data.SplitNames(), split) {
		return nil, fmt.Errorf("seg: Select: split %q, want train, val or test: %w", split, data.ErrArgument)
	}
	if err := m.Check(); err != nil {
		return nil, err
	}
	entries := make(map[string]data.ManifestEntry, len(m.Entries))
	for _, e := range m.Entries {
		entries[e.File] = e
	}
	out := &Set{Dir: s.Dir, NumClasses: s.NumClasses}
	for _, c := range s.Cases {
		e, ok := entries[c.ImageFile]
		switch {
		case !ok:
			return nil, fmt.Errorf("seg: Select: case %s (%s) is not in the manifest: %w", c.Name, c.ImageFile, data.ErrArgument)
		case e.Patient != c.Patient:
			return nil, fmt.Errorf("seg: Select: the manifest gives %s patient %q, the set %q: %w", c.ImageFile, e.Patient, c.Patient, data.ErrArgument)
		}
		delete(entries, c.ImageFile)
		if e.Split == split {
			out.Cases = append(out.Cases, c)
		}
	}
	for f := range entries {
		return nil, fmt.Errorf("seg: Select: the manifest lists %s, which the set does not hold: %w", f, data.ErrArgument)
	}
	return out, nil
}

// streamLabelFraction is LabelFraction's random stream (PCG seeded with the seed and it).
const streamLabelFraction = 0x5e6

// LabelFraction returns the set cut to
//
//	k = min(n, max(1, round(fraction·n)))
//
// of its n cases (volumes, not slices), chosen by a seeded shuffle of the patients: the
// first patients of the shuffle are kept, whole, until k cases are reached (a patient with
// several cases may take it above k). For one seed the subsets are nested: a smaller
// fraction keeps a subset of a larger one's cases. fraction must be in (0, 1]; 1 keeps
// every case. The kept cases keep the set's order.
func (s *Set) LabelFraction(fraction float64, seed int64) (*Set, error) {
	if !(fraction > 0 && fraction <= 1) {
		return nil, fmt.Errorf("seg: LabelFraction: fraction %v not in (0, 1]: %w", fraction, data.ErrArgument)
	}
	n := len(s.Cases)
	k := min(n, max(1, int(math.Round(fraction*float64(n)))))
	var patients []string
	byPatient := map[string][]int{}
	for i, c := range s.Cases {
		if _, ok := byPatient[c.Patient]; !ok {
			patients = append(patients, c.Patient)
		}
		byPatient[c.Patient] = append(byPatient[c.Patient], i)
	}
	slices.Sort(patients)
	rng := rand.New(rand.NewPCG(uint64(seed), streamLabelFraction))
	order := rng.Perm(len(patients))
	var keep []int
	for _, pi := range order {
		if len(keep) >= k {
			break
		}
		keep = append(keep, byPatient[patients[pi]]...)
	}
	slices.Sort(keep)
	out := &Set{Dir: s.Dir, NumClasses: s.NumClasses}
	for _, i := range keep {
		out.Cases = append(out.Cases, s.Cases[i])
	}
	return out, nil
}
