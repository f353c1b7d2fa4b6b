package cli

import (
	"fmt"
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
func Pool(path string, like *data.Split) (study.Pool, error) {
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
	opts := []folder.Option{folder.Unlabelled(), folder.ImageSize(like.Height, like.Width)}
	if like.Channels == 3 {
		opts = append(opts, folder.RGB())
	}
	f, err := folder.Scan(path, opts...)
	if err != nil {
		return study.Pool{}, fmt.Errorf("-pool: %w", err)
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
