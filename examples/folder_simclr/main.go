// Command folder_simclr pretrains SimCLR on a folder of image files and evaluates it with a
// linear probe, end to end through medssl's folder loader, patient-level split and
// streaming source:
//
//  1. without -dir, it exports the embedded BreastMNIST (all 780 images) to a temporary
//     folder as PNGs with a labels.csv (file,label,patient; one patient per image, the
//     image's index, since BreastMNIST has no patient ids);
//  2. loads the folder (data.LoadImageFolder with the CSV, resized to -size, bad files
//     skipped and printed);
//  3. splits it by patient (70/10/20, stratified, seeded) into a manifest, or reads the
//     one at -manifest when it exists, so a rerun uses the same splits;
//  4. pretrains SimCLR (ssl.NewSimCLR) on the training images streamed from disk
//     (data.OpenStream, bounded cache) with a narrow ResNet-18
//     (models.ResNetFor(18, size).Width(8));
//  5. trains a linear probe on the frozen features (supervised.LinearProbe) and prints
//     the test AUC.
//
// For example:
//
//	go run ./examples/folder_simclr -epochs 3
//	go run ./examples/folder_simclr -dir ~/study -csv ~/study/labels.csv -size 64 -manifest ~/study/manifest.json
package main

import (
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

func main() {
	dir := flag.String("dir", "", "image folder (default: the embedded BreastMNIST exported to a temporary folder)")
	csvPath := flag.String("csv", "", "labels CSV (file,label[,patient]); default: class sub-folders, or the exported labels.csv")
	size := flag.Int("size", 28, "image side after resizing")
	rgb := flag.Bool("rgb", false, "decode as RGB instead of grayscale")
	epochs := flag.Int("epochs", 5, "SimCLR pretraining epochs")
	probeEpochs := flag.Int("probe-epochs", 50, "linear-probe epochs")
	batch := flag.Int("batch", 64, "batch size")
	width := flag.Int("width", 8, "ResNet-18 base width")
	seed := flag.Int64("seed", 1, "seed of the split, initialisation and augmentation")
	manifest := flag.String("manifest", "", "manifest file: read when it exists, else written (default: <dir>/manifest.json when -dir is a temporary export)")
	cacheMB := flag.Int("cache-mb", 64, "streaming cache capacity in MB")
	progress := flag.Bool("progress", true, "show progress bars")
	flag.Parse()
	if err := run(*dir, *csvPath, *manifest, *size, *rgb, *epochs, *probeEpochs, *batch, *width, *seed, *cacheMB, *progress); err != nil {
		fmt.Fprintln(os.Stderr, "folder_simclr:", err)
		os.Exit(1)
	}
}

func run(dir, csvPath, manifestPath string, size int, rgb bool, epochs, probeEpochs, batch, width int, seed int64, cacheMB int, progress bool) error {
	start := time.Now()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "folder_simclr")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := exportBreastMNIST(tmp); err != nil {
			return err
		}
		dir, csvPath = tmp, filepath.Join(tmp, "labels.csv")
		fmt.Printf("exported the embedded BreastMNIST to %s (PNGs + labels.csv)\n", tmp)
	}
	if manifestPath == "" {
		manifestPath = filepath.Join(dir, "manifest.json")
	}

	opts := []data.FolderOption{data.FolderImageSize(size, size), data.SkipBadFiles()}
	if csvPath != "" {
		opts = append(opts, data.FolderLabelsCSV(csvPath))
	}
	if rgb {
		opts = append(opts, data.FolderRGB())
	}
	f, err := data.LoadImageFolder(dir, opts...)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d images of %dx%dx%d, classes %v\n", len(f.Items), f.Height, f.Width, f.Channels, f.Classes)
	if len(f.Skipped) > 0 {
		fmt.Printf("skipped %d bad files:\n%s", len(f.Skipped), f.Skipped)
	}

	m, err := data.LoadManifest(manifestPath)
	switch {
	case err == nil:
		fmt.Printf("using manifest %s (seed %d)\n", manifestPath, m.Seed)
	case errors.Is(err, fs.ErrNotExist):
		if m, err = f.SplitByPatient(data.SplitFractions{Train: 0.7, Val: 0.1, Test: 0.2}, seed); err != nil {
			return err
		}
		if err := data.WriteManifest(manifestPath, m); err != nil {
			return err
		}
		fmt.Printf("wrote manifest %s\n", manifestPath)
	default:
		return err
	}
	ds, err := f.Dataset(m)
	if err != nil {
		return err
	}
	fmt.Printf("patient-level split: train %d / val %d / test %d images (%d / %d / %d patients)\n",
		ds.Train.N, ds.Val.N, ds.Test.N, len(m.PatientsBySplit()["train"]), len(m.PatientsBySplit()["val"]), len(m.PatientsBySplit()["test"]))

	// Pretraining reads the training images from disk, as it would for a set larger than memory.
	trainPart, err := f.Select(m, "train")
	if err != nil {
		return err
	}
	stream, err := data.OpenStream(trainPart, data.StreamCacheBytes(int64(cacheMB)<<20))
	if err != nil {
		return err
	}
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	enc := models.ResNetFor(18, size).Width(width)
	t0 := time.Now()
	pre, err := ssl.Pretrain(stream, ssl.PretrainConfig{
		Backend: backend, Encoder: enc, Method: ssl.NewSimCLR(),
		Epochs: epochs, BatchSize: batch, Seed: seed, Progress: progress,
	})
	if err != nil {
		return err
	}
	st := stream.Stats()
	fmt.Printf("SimCLR %s: %d steps, loss %.3f -> %.3f, %s; stream decoded %d files, cache peak %.1f MB of %d MB\n",
		enc.Name(), pre.Steps, pre.Loss[0], pre.Loss[len(pre.Loss)-1], time.Since(t0).Round(time.Second),
		st.Decoded, float64(st.CachePeakBytes)/(1<<20), cacheMB)
	if bad := stream.Skipped(); len(bad) > len(f.Skipped) {
		fmt.Printf("files that failed while streaming:\n%s", bad[len(f.Skipped):])
	}

	clf, err := supervised.LinearProbe(ds.Train, ds.Val, ds.NumClasses, pre.Store, supervised.Config{
		Backend: backend, Encoder: enc, Epochs: probeEpochs, BatchSize: batch, Seed: seed, Progress: progress,
	})
	if err != nil {
		return err
	}
	res, err := clf.Evaluate(ds.Test)
	if err != nil {
		return err
	}
	fmt.Printf("linear probe: best val AUC %.3f at epoch %d; test AUC %.3f, ACC %.3f (%s total)\n",
		clf.BestValAUC, clf.BestEpoch, res.AUC, res.ACC, time.Since(start).Round(time.Second))
	return nil
}

// exportBreastMNIST writes every BreastMNIST image (train, val and test, 780 in all) to
// dir/images/img%04d.png and a labels.csv with class names and one patient per image.
func exportBreastMNIST(dir string) error {
	d, err := data.BreastMNIST()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return err
	}
	classes := []string{"malignant", "normal_benign"}
	csv, err := os.Create(filepath.Join(dir, "labels.csv"))
	if err != nil {
		return err
	}
	defer csv.Close()
	fmt.Fprintln(csv, "file,label,patient")
	k := 0
	for _, s := range d.Splits() {
		for i := range s.N {
			file := fmt.Sprintf("images/img%04d.png", k)
			img := &image.Gray{Pix: s.Image(i), Stride: s.Width, Rect: image.Rect(0, 0, s.Width, s.Height)}
			fh, err := os.Create(filepath.Join(dir, filepath.FromSlash(file)))
			if err != nil {
				return err
			}
			if err := png.Encode(fh, img); err != nil {
				fh.Close()
				return err
			}
			if err := fh.Close(); err != nil {
				return err
			}
			fmt.Fprintf(csv, "%s,%s,P%04d\n", file, classes[s.Label(i)], k)
			k++
		}
	}
	return csv.Close()
}
