// Command segment segments a folder of NIfTI volumes end to end: it pairs images with
// their label volumes, splits them by volume, optionally pretrains the encoder on the
// training slices with a dense pretext task (genesis or simmim), trains or fine-tunes a
// U-Net on a fraction of the labelled training volumes, and scores the test volumes in 3D
// (per-class Dice, IoU and HD95 in mm), writing overlays of predicted against true masks.
//
//	go run ./examples/segment -data ../shared/data/hippocampus
//	go run ./examples/segment -data ../shared/data/hippocampus -pretrain genesis -pretrain-steps 300
//	go run ./examples/segment -data dir -fraction 0.1 -arm frozen -pretrain simmim
//
// The folder holds imagesTr/ and labelsTr/ (or images/ and labels/) with matching file
// names, as the Medical Segmentation Decathlon ships them. Under -out it writes the split
// (manifest.json), the test scores per volume (scores.json), the pretrained encoder
// (encoder/) and overlay PNGs: each shows a test slice, its true mask and the prediction.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval/segment"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/ssl"
)

func main() {
	dataDir := flag.String("data", "", "folder of NIfTI volumes with imagesTr/ and labelsTr/ (or images/ and labels/) sub-folders (required)")
	planeName := flag.String("plane", "axial", "slicing plane: axial, coronal or sagittal")
	size := flag.String("size", "64x48", "slice size HxW: slices are centred, padded or cropped to it (multiples of 8 for a ResNet)")
	encoderName := flag.String("encoder", "resnet18-w16-small", "encoder: resnet18|34|50[-w<width>][-small|-standard] or vit-tiny|vit-small/<patch>")
	volumes := flag.Int("volumes", 0, "use this many volumes, drawn at random with -seed (0: all)")
	splitFlag := flag.String("split", "0.7,0.15,0.15", "train,val,test fractions of the volumes")
	fraction := flag.Float64("fraction", 1, "fraction of the training volumes whose labels are used")
	pretrainName := flag.String("pretrain", "none", "pretext task run on the training slices first: none, "+strings.Join(ssl.Names(), ", "))
	pretrainSteps := flag.Int("pretrain-steps", 300, "pretraining steps")
	pretrainBatch := flag.Int("pretrain-batch", 32, "pretraining batch size")
	armName := flag.String("arm", "", "supervised, finetune or frozen (default: finetune after pretraining, else supervised)")
	epochs := flag.Int("epochs", segment.DefaultEpochs, "segmentation training epochs (ignored when -steps > 0)")
	steps := flag.Int("steps", 0, "segmentation training steps (0: -epochs)")
	valEvery := flag.Int("val-every", 0, "steps between validations (0: once per epoch)")
	batch := flag.Int("batch", segment.DefaultBatchSize, "segmentation batch size")
	seed := flag.Int64("seed", 1, "seed of the split, the label fraction, initialisation and training")
	out := flag.String("out", "medssl-segment", "output folder")
	overlays := flag.Int("overlays", 4, "overlay PNGs to write (test slices of different volumes)")
	progress := flag.Bool("progress", true, "show progress bars")
	flag.Parse()

	if err := run(options{*dataDir, *planeName, *size, *encoderName, *volumes, *splitFlag, *fraction, *pretrainName, *pretrainSteps,
		*pretrainBatch, *armName, *epochs, *steps, *valEvery, *batch, *seed, *out, *overlays, *progress}); err != nil {
		cli.Fatal(err)
	}
}

type options struct {
	data, plane, size, encoder string
	volumes                    int
	split                      string
	fraction                   float64
	pretrain                   string
	pretrainSteps              int
	pretrainBatch              int
	arm                        string
	epochs, steps, valEvery    int
	batch                      int
	seed                       int64
	out                        string
	overlays                   int
	progress                   bool
}

func run(o options) error {
	t0 := time.Now()
	if o.data == "" {
		return errors.New("-data: name a folder of NIfTI volumes (e.g. ../shared/data/hippocampus)")
	}
	plane, err := cli.Plane("plane", o.plane)
	if err != nil {
		return err
	}
	h, w, err := cli.Size("size", o.size)
	if err != nil {
		return err
	}
	fr, err := cli.Floats("split", o.split)
	if err != nil {
		return err
	}
	if len(fr) != 3 {
		return fmt.Errorf("-split: %q, want three fractions train,val,test", o.split)
	}
	enc, err := cli.Encoder("encoder", o.encoder)
	if err != nil {
		return err
	}
	arm := segment.Arm(o.arm)
	if o.arm == "" {
		arm = segment.ArmSupervised
		if o.pretrain != "none" {
			arm = segment.ArmFineTune
		}
	}
	if arm, err = segment.ParseArm(string(arm)); err != nil {
		return fmt.Errorf("-arm: %w", err)
	}
	if arm.UsesEncoder() && o.pretrain == "none" {
		return fmt.Errorf("-arm %s needs a pretrained encoder: set -pretrain", arm)
	}
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}

	train, val, test, err := cli.SegmentationSplits(o.data, o.volumes, data.SplitFractions{Train: fr[0], Val: fr[1], Test: fr[2]}, o.seed,
		filepath.Join(o.out, "manifest.json"))
	if err != nil {
		return err
	}
	parts := map[string]*seg.Set{"train": train, "val": val, "test": test}
	fmt.Printf("%s: %d image/label volumes used, %d classes (%.1fs)\n", o.data, len(train.Cases)+len(val.Cases)+len(test.Cases), train.NumClasses, time.Since(t0).Seconds())
	for _, name := range data.SplitNames() {
		if len(parts[name].Cases) == 0 {
			return fmt.Errorf("the %s split is empty: use more volumes or other -split fractions", name)
		}
	}
	labelled, err := parts["train"].LabelFraction(o.fraction, o.seed)
	if err != nil {
		return err
	}
	sc := seg.DefaultSliceConfig(h, w)
	sc.Plane = plane
	slices := map[string]*seg.Slices{}
	for name, s := range map[string]*seg.Set{"train": parts["train"], "labelled": labelled, "val": parts["val"], "test": parts["test"]} {
		if slices[name], err = s.Slices(sc); err != nil {
			return err
		}
	}
	fmt.Printf("split by volume: train %d (labelled %d, fraction %g), val %d, test %d; %s slices %dx%d: %d labelled training slices\n",
		len(parts["train"].Cases), len(labelled.Cases), o.fraction, len(parts["val"].Cases), len(parts["test"].Cases),
		plane, h, w, slices["labelled"].N())

	in := segment.ArmInput{Backend: backend, Encoder: enc, Train: slices["labelled"], Val: slices["val"], Test: slices["test"], Seed: o.seed}
	var pretrainSeconds float64
	if o.pretrain != "none" {
		t1 := time.Now()
		method, err := ssl.New(o.pretrain)
		if err != nil {
			return fmt.Errorf("-pretrain: %w", err)
		}
		cfg := ssl.DefaultPretrainConfig()
		cfg.Backend, cfg.Encoder, cfg.Method, cfg.Augment = backend, enc, method, nil
		cfg.Steps, cfg.BatchSize, cfg.Seed, cfg.MonitorEpochs, cfg.Progress = o.pretrainSteps, o.pretrainBatch, o.seed, 0, o.progress
		// Every training volume's slices, labels unread: the unlabelled pool.
		pre, err := ssl.Pretrain(slices["train"].Split(), cfg)
		if err != nil {
			return err
		}
		if err := pre.SaveEncoder(filepath.Join(o.out, "encoder")); err != nil {
			return err
		}
		in.Pretrained = pre.Store
		pretrainSeconds = time.Since(t1).Seconds()
		k := min(10, len(pre.Loss))
		fmt.Printf("pretrained %s with %s: %d steps, loss %.4f (first %d) -> %.4f (last %d), %.0fs\n", enc.Name(), method.Name(),
			pre.Steps, mean(pre.Loss[:k]), k, mean(pre.Loss[len(pre.Loss)-k:]), k, pretrainSeconds)
	}

	t2 := time.Now()
	cfg := segment.DefaultConfig()
	cfg.Epochs, cfg.Steps, cfg.ValEvery, cfg.BatchSize, cfg.Progress = o.epochs, o.steps, o.valEvery, o.batch, o.progress
	outcome, err := segment.RunArm(arm, in, cfg)
	if err != nil {
		return err
	}
	trainSeconds := time.Since(t2).Seconds()
	fmt.Printf("\n%s arm: %g steps, best validation Dice %.4f at step %g (%.0fs)\n", arm, outcome.Selected["steps"],
		outcome.ValDice, outcome.Selected["best_step"], trainSeconds)
	printScores(outcome.Test)

	files, err := writeOverlays(o.out, slices["test"], outcome.Test, o.overlays)
	if err != nil {
		return err
	}
	if err := writeScores(filepath.Join(o.out, "scores.json"), outcome, o, arm, pretrainSeconds, trainSeconds); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s/manifest.json, %s/scores.json and %d overlays (%s); total %.0fs\n", o.out, o.out, len(files),
		strings.Join(files, ", "), time.Since(t0).Seconds())
	return nil
}

// printScores prints the per-class test table.
func printScores(ev *segment.Evaluation) {
	s := ev.Summary
	fmt.Printf("test, %d volumes, 3D:\n%-8s %8s %8s %10s %12s\n", s.Volumes, "class", "Dice", "IoU", "HD95 (mm)", "HD95 = inf")
	for k := 1; k < s.Classes; k++ {
		fmt.Printf("%-8d %8.4f %8.4f %10.2f %12d\n", k, s.Dice[k], s.IoU[k], s.HD95[k], s.HD95Inf[k])
	}
	fmt.Printf("%-8s %8.4f %8.4f %10.2f\n", "mean", s.MeanDice, s.MeanIoU, s.MeanHD95)
}

// writeOverlays writes overlay PNGs of n test slices, each from another volume.
func writeOverlays(dir string, test *seg.Slices, ev *segment.Evaluation, n int) ([]string, error) {
	var files []string
	for _, i := range segment.OverlaySlices(test, n) {
		img, err := segment.Overlay(test, ev.Pred, i, 4)
		if err != nil {
			return nil, err
		}
		var name string
		for _, st := range test.Stacks {
			if i >= st.First && i < st.First+st.Count {
				name = fmt.Sprintf("overlay_%s_slice%02d.png", st.Name, i-st.First)
			}
		}
		fh, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if err := png.Encode(fh, img); err != nil {
			fh.Close()
			return nil, err
		}
		if err := fh.Close(); err != nil {
			return nil, err
		}
		files = append(files, name)
	}
	return files, nil
}

// writeScores stores the run's settings, summary and per-volume scores as JSON (infinite
// and undefined HD95 values as null).
func writeScores(path string, out *segment.Outcome, o options, arm segment.Arm, pretrainSeconds, trainSeconds float64) error {
	num := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	nums := func(vs []float64) []any {
		r := make([]any, len(vs))
		for i, v := range vs {
			r[i] = num(v)
		}
		return r
	}
	summary := map[string]any{}
	for k, v := range out.Metrics {
		summary[k] = num(v)
	}
	var volumes []map[string]any
	for i, v := range out.Test.Volumes {
		volumes = append(volumes, map[string]any{"name": out.Test.Names[i], "dice": nums(v.Dice), "iou": nums(v.IoU), "hd95": nums(v.HD95)})
	}
	b, err := json.MarshalIndent(map[string]any{
		"data": o.data, "plane": o.plane, "size": o.size, "encoder": o.encoder, "fraction": o.fraction, "seed": o.seed,
		"pretrain": o.pretrain, "pretrain_steps": o.pretrainSteps, "arm": arm, "selected": out.Selected,
		"val_dice": out.ValDice, "val_steps": out.ValSteps, "val_dices": out.ValDices, "train_loss": out.TrainLoss,
		"pretrain_seconds": pretrainSeconds, "train_seconds": trainSeconds,
		"test": summary, "test_volumes": volumes,
	}, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
