package cli

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/data/stream"
	"github.com/medssl/medssl/eval/study"
)

// sourceName is how a file or folder is named in reports: its base name without extension.
func sourceName(path string) string {
	base := filepath.Base(filepath.Clean(path))
	return strings.TrimSuffix(base, filepath.Ext(base))
}

// Pool opens an unlabelled pretraining pool of images shaped like like's: a MedMNIST .npz
// (the images of all its splits, labels ignored) or a folder of images (streamed from disk,
// every image under it, resized to like's size). It is named after the file or folder.
//
// A dataset folder often holds a README or a labels CSV beside its images, so a pool folder's
// files that are not readable images are left out, and listed on log (never silently).
func Pool(path string, like *data.Split, log io.Writer) (study.Pool, error) {
	name := sourceName(path)
	st, err := os.Stat(path)
	if err != nil {
		return study.Pool{}, fmt.Errorf("-pool: %w", err)
	}
	if !st.IsDir() {
		ds, err := data.LoadMedMNIST(path)
		if err != nil {
			return study.Pool{}, fmt.Errorf("-pool: %w", err)
		}
		all, err := concatImages(ds)
		if err != nil {
			return study.Pool{}, fmt.Errorf("-pool %s: %w", path, err)
		}
		return study.Pool{Name: name, Source: all}, nil
	}
	opts := []folder.Option{folder.Unlabelled(), folder.ImageSize(like.Height, like.Width), folder.SkipBadFiles()}
	if like.Channels == 3 {
		opts = append(opts, folder.RGB())
	}
	f, err := folder.Scan(path, opts...)
	if err != nil {
		return study.Pool{}, fmt.Errorf("-pool: %w", err)
	}
	if len(f.Skipped) > 0 {
		fmt.Fprintf(log, "-pool %s: %d files left out:\n%s", path, len(f.Skipped), f.Skipped)
	}
	s, err := stream.Open(f)
	if err != nil {
		return study.Pool{}, fmt.Errorf("-pool %s: %w", path, err)
	}
	return study.Pool{Name: name, Source: s}, nil
}

// concatImages joins a dataset's three splits (labels kept but unused by pretraining).
func concatImages(ds *data.Dataset) (*data.Split, error) {
	tv, err := data.Concat("train+val", ds.Train, ds.Val)
	if err != nil {
		return nil, err
	}
	return data.Concat("all", tv, ds.Test)
}

// TestSet opens an external test set: "file.npz" (its test split), "file.npz#train",
// "#val", "#test" or "#all" for another part, or a folder of images labelled like the
// dataset (class sub-folders or a labels.csv inside; classes are numbered in sorted order of
// their names and must be as many as the dataset's). It is named after the file or folder,
// with the part when one is given.
func TestSet(spec string, like *data.Dataset) (study.TestSet, error) {
	path, part, hasPart := strings.Cut(spec, "#")
	name := sourceName(path)
	if hasPart {
		name += "-" + part
	}
	st, err := os.Stat(path)
	if err != nil {
		return study.TestSet{}, fmt.Errorf("-external: %w", err)
	}
	if st.IsDir() {
		if hasPart {
			return study.TestSet{}, fmt.Errorf("-external %s: a folder has no parts (#%s)", spec, part)
		}
		ts, err := folderTestSet(path, like)
		if err != nil {
			return study.TestSet{}, fmt.Errorf("-external: %w", err)
		}
		return study.TestSet{Name: name, Split: ts}, nil
	}
	ds, err := data.LoadMedMNIST(path, data.WithTask(like.Task, like.NumClasses))
	if err != nil {
		return study.TestSet{}, fmt.Errorf("-external: %w", err)
	}
	var s *data.Split
	switch part {
	case "", "test":
		s = ds.Test
	case "train":
		s = ds.Train
	case "val":
		s = ds.Val
	case "all":
		if s, err = concatImages(ds); err != nil {
			return study.TestSet{}, fmt.Errorf("-external %s: %w", spec, err)
		}
	default:
		return study.TestSet{}, fmt.Errorf("-external %s: part %q, want train, val, test or all", spec, part)
	}
	return study.TestSet{Name: name, Split: s}, nil
}

func folderTestSet(dir string, like *data.Dataset) (*data.Split, error) {
	opts := []folder.Option{folder.ImageSize(like.Train.Height, like.Train.Width)}
	if like.Train.Channels == 3 {
		opts = append(opts, folder.RGB())
	}
	if csv := filepath.Join(dir, "labels.csv"); fileExists(csv) {
		opts = append(opts, folder.LabelsCSV(csv))
	}
	f, err := folder.Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	if f.NumClasses() != like.NumClasses {
		return nil, fmt.Errorf("%s has %d classes (%s), the dataset %s has %d", dir, f.NumClasses(), strings.Join(f.Classes, ", "), like.Name, like.NumClasses)
	}
	return f.Images, nil
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

// FolderDataset loads an image folder as a dataset split by patient: dir holds the images
// (or an images/ folder) and labels.csv (file, optional patient, then a label column, or
// several 0/1 finding columns for a multi-label task, which is detected from the header:
// more than one 0/1 column). Images are resized to size×size (0: as they are, which must
// then all agree). Patients go to train, val and test with the fractions given (data.
// SplitByPatient with seed); the manifest is written to manifestPath when it is not empty,
// so the split can be checked and reused.
func FolderDataset(dir string, size int, fractions data.SplitFractions, seed int64, manifestPath string) (*data.Dataset, error) {
	csv := filepath.Join(dir, "labels.csv")
	if !fileExists(csv) {
		return nil, fmt.Errorf("-data %s: no labels.csv in the folder", dir)
	}
	images := dir
	if st, err := os.Stat(filepath.Join(dir, "images")); err == nil && st.IsDir() {
		images = filepath.Join(dir, "images")
	}
	var opts []folder.Option
	if size > 0 {
		opts = append(opts, folder.ImageSize(size, size))
	}
	multi, err := folder.Load(images, append(opts, folder.MultiLabelCSV(csv))...)
	f := multi
	if err != nil {
		// Not a multi-label table (fewer than two 0/1 columns): one label column.
		var single error
		if f, single = folder.Load(images, append(opts, folder.LabelsCSV(csv))...); single != nil {
			return nil, fmt.Errorf("-data %s: %v (read as a multi-label table: %v)", dir, single, err)
		}
	}
	m, err := f.SplitByPatient(fractions, seed)
	if err != nil {
		return nil, fmt.Errorf("-data %s: %w", dir, err)
	}
	if manifestPath != "" {
		if err := os.MkdirAll(filepath.Dir(manifestPath), 0o755); err != nil {
			return nil, err
		}
		if err := data.WriteManifest(manifestPath, m); err != nil {
			return nil, err
		}
	}
	ds, err := f.Dataset(m)
	if err != nil {
		return nil, err
	}
	ds.Name, ds.File = filepath.Base(filepath.Clean(dir)), filepath.Base(filepath.Clean(dir))
	return ds, nil
}

// HoldOut carves an internal test set out of the training split: one of round(1/fraction)
// stratified folds of it (data.Folds with seed, patients kept whole), the rest staying for
// training. It serves a file whose own test split plays another role (an external test).
func HoldOut(ds *data.Dataset, fraction float64, seed int64) (*data.Dataset, error) {
	if !(fraction > 0 && fraction < 1) {
		return nil, fmt.Errorf("-holdout %v, want a fraction in (0, 1)", fraction)
	}
	k := max(2, int(math.Round(1/fraction)))
	folds, err := data.Folds(ds.Train, k, seed)
	if err != nil {
		return nil, fmt.Errorf("-holdout: %w", err)
	}
	train, test, err := data.FoldSplits(ds.Train, folds, 0)
	if err != nil {
		return nil, fmt.Errorf("-holdout: %w", err)
	}
	out := *ds
	out.Name = ds.Name + "-holdout"
	out.Train, out.Test = train, test
	return &out, nil
}

// DevPool is the development images (train and val, labels unused) as a pretraining pool
// named "dev": under cross-validation one pretraining per seed then serves every fold,
// without ever seeing a test image.
func DevPool(ds *data.Dataset) (study.Pool, error) {
	dev, err := data.Concat("dev", ds.Train, ds.Val)
	if err != nil {
		return study.Pool{}, err
	}
	return study.Pool{Name: "dev", Source: dev}, nil
}
