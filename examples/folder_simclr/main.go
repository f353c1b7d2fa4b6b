// Command folder_simclr pretrains SimCLR on a folder of image files and evaluates it with a
// linear probe, end to end through medssl's folder loader, patient-level split and
// streaming source:
//
//  1. without -dir, it exports the embedded BreastMNIST (all 780 images) to a temporary
//     folder as PNGs with a labels.csv (file,label,patient; one patient per image, the
//     image's index, since BreastMNIST has no patient ids);
//  2. loads the folder (folder.Load with the CSV, resized to -size, bad files skipped and
//     printed);
//  3. splits it by patient (70/10/20, stratified, seeded) into a manifest, or reads the
//     one at -manifest when it exists, so a rerun uses the same splits;
//  4. pretrains SimCLR (ssl.NewSimCLR, from ssl.DefaultPretrainConfig) on the training
//     images streamed from disk (stream.Open, bounded cache) with the -encoder network
//     (default a narrow ResNet-18, "resnet18-w8");
//  5. trains a linear probe on the frozen features (eval.LinearProbe) and prints the test
//     AUC.
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
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/data/stream"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// options are the command line's settings.
type options struct {
	dir, csvPath, manifest string
	size                   int
	rgb                    bool
	epochs, probeEpochs    int
	batch                  int
	encoder                models.Encoder
	seed                   int64
	cacheMB                int
	progress               bool
}

func main() {
	var o options
	flag.StringVar(&o.dir, "dir", "", "image folder (default: the embedded BreastMNIST exported to a temporary folder)")
	flag.StringVar(&o.csvPath, "csv", "", "labels CSV (file,label[,patient]); default: class sub-folders, or the exported labels.csv")
	flag.IntVar(&o.size, "size", 28, "image side after resizing")
	flag.BoolVar(&o.rgb, "rgb", false, "decode as RGB instead of grayscale")
	flag.IntVar(&o.epochs, "epochs", 5, "SimCLR pretraining epochs")
	flag.IntVar(&o.probeEpochs, "probe-epochs", 50, "linear-probe epochs")
	flag.IntVar(&o.batch, "batch", 64, "batch size")
	encoderName := flag.String("encoder", "resnet18-w8", "encoder: resnet18|34|50[-w<width>] or vit-tiny|vit-small/<patch>")
	flag.Int64Var(&o.seed, "seed", 1, "seed of the split, initialisation and augmentation")
	flag.StringVar(&o.manifest, "manifest", "", "manifest file: read when it exists, else written (default: <dir>/manifest.json)")
	flag.IntVar(&o.cacheMB, "cache-mb", 64, "streaming cache capacity in MB")
	flag.BoolVar(&o.progress, "progress", true, "show progress bars")
	flag.Parse()
	enc, err := cli.Encoder("encoder", *encoderName)
	if err != nil {
		cli.Fatal(err)
	}
	o.encoder = enc
	if err := run(o); err != nil {
		cli.Fatal(err)
	}
}

func run(o options) error {
	start := time.Now()
	if o.dir == "" {
		tmp, err := os.MkdirTemp("", "folder_simclr")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := exportBreastMNIST(tmp); err != nil {
			return err
		}
		o.dir, o.csvPath = tmp, filepath.Join(tmp, "labels.csv")
		fmt.Printf("exported the embedded BreastMNIST to %s (PNGs + labels.csv)\n", tmp)
	}
	if o.manifest == "" {
		o.manifest = filepath.Join(o.dir, "manifest.json")
	}

	opts := []folder.Option{folder.ImageSize(o.size, o.size), folder.SkipBadFiles()}
	if o.csvPath != "" {
		opts = append(opts, folder.LabelsCSV(o.csvPath))
	}
	if o.rgb {
		opts = append(opts, folder.RGB())
	}
	f, err := folder.Load(o.dir, opts...)
	if err != nil {
		return err
	}
	fmt.Printf("loaded %d images of %dx%dx%d, classes %v\n", len(f.Items), f.Height, f.Width, f.Channels, f.Classes)
	if len(f.Skipped) > 0 {
		fmt.Printf("skipped %d bad files:\n%s", len(f.Skipped), f.Skipped)
	}

	m, err := data.LoadManifest(o.manifest)
	switch {
	case err == nil:
		fmt.Printf("using manifest %s (seed %d)\n", o.manifest, m.Seed)
	case errors.Is(err, fs.ErrNotExist):
		if m, err = f.SplitByPatient(data.SplitFractions{Train: 0.7, Val: 0.1, Test: 0.2}, o.seed); err != nil {
			return err
		}
		if err := data.WriteManifest(o.manifest, m); err != nil {
			return err
		}
		fmt.Printf("wrote manifest %s\n", o.manifest)
	default:
		return err
	}
	ds, err := f.Dataset(m)
	if err != nil {
		return err
	}
	patients := m.PatientsBySplit()
	fmt.Printf("patient-level split: train %d / val %d / test %d images (%d / %d / %d patients)\n",
		ds.Train.N, ds.Val.N, ds.Test.N, len(patients["train"]), len(patients["val"]), len(patients["test"]))

	// Pretraining reads the training images from disk, as it would for a set larger than memory.
	trainPart, err := f.Select(m, "train")
	if err != nil {
		return err
	}
	st, err := stream.Open(trainPart, stream.CacheBytes(int64(o.cacheMB)<<20))
	if err != nil {
		return err
	}
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = backend, o.encoder, ssl.NewSimCLR()
	cfg.Epochs, cfg.BatchSize, cfg.Seed, cfg.Progress = o.epochs, o.batch, o.seed, o.progress
	t0 := time.Now()
	pre, err := ssl.Pretrain(st, cfg)
	if err != nil {
		return err
	}
	stats := st.Stats()
	fmt.Printf("SimCLR %s: %d steps, loss %.3f -> %.3f, %s; stream decoded %d files, cache peak %.1f MB of %d MB\n",
		o.encoder.Name(), pre.Steps, pre.Loss[0], pre.Loss[len(pre.Loss)-1], time.Since(t0).Round(time.Second),
		stats.Decoded, float64(stats.CachePeakBytes)/(1<<20), o.cacheMB)
	if bad := st.Skipped(); len(bad) > len(f.Skipped) {
		fmt.Printf("files that failed while streaming:\n%s", bad[len(f.Skipped):])
	}

	probeCfg := eval.DefaultProbeConfig()
	probeCfg.Backend, probeCfg.Encoder = backend, o.encoder
	probeCfg.Epochs, probeCfg.BatchSize, probeCfg.Seed, probeCfg.Progress = o.probeEpochs, o.batch, o.seed, o.progress
	probe, err := eval.LinearProbe(ds.Train, ds.Val, ds.NumClasses, pre.Store, probeCfg)
	if err != nil {
		return err
	}
	res, err := probe.Evaluate(ds.Test)
	if err != nil {
		return err
	}
	fmt.Printf("linear probe: best val AUC %.3f at epoch %d; test AUC %.3f, ACC %.3f (%s total)\n",
		probe.Head.BestValAUC, probe.Head.BestEpoch, res.AUC, res.ACC, time.Since(start).Round(time.Second))
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
