// Command study is medssl's main job: does self-supervised pretraining beat plain supervised
// training on a medical image set, and where — at which fraction of labels, under which
// class imbalance, with which evaluation protocol?
//
// On BreastMNIST (embedded; or any single-label MedMNIST .npz given with -data) it runs the
// grid methods × arms × label fractions × imbalance ratios × seeds of package eval/study:
//
//   - supervised: the encoder trained from scratch on the labelled subset (the baseline);
//   - linear:     a linear probe on frozen pretrained features (lr × weight decay on val AUC);
//   - knn:        weighted kNN on frozen pretrained features;
//   - finetune:   the pretrained encoder fine-tuned (fully, or from -trainable-from on);
//
// pretraining each method once per seed (and imbalance) and reusing it in every arm. Every
// finished cell is appended to <out>/results.jsonl: rerun with the same -out to resume after
// an interruption; finished cells are never recomputed. At the end it writes
// <out>/report.md (tables with mean ± sd and 95% t-intervals over seeds, paired tests against
// the supervised baseline with Holm correction), cells.csv, cells.json and PNG plots, and
// prints the report.
//
// The defaults finish in roughly 10-15 minutes on a quiet 2-core machine with the pure-Go
// backend (a width-16 ResNet-18, short schedules, 3 seeds, 10% and 100% of the labels);
// -paper selects the paper-scale protocol (full-width ResNet-18, 100 supervised and
// fine-tuning epochs, 200 pretraining epochs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

func main() {
	var (
		encoderName, dataPath, methods, arms, fractions, imbalances, seeds, out, trainableFrom, augName, knnDistance     string
		depth, width, pretrainEpochs, pretrainSteps, epochs, finetuneEpochs, probeEpochs, batch, k, stopAfter, bootstrap int
		encoderLR, temperature                                                                                           float64
		paper, progress, perCell, reportOnly                                                                             bool
	)
	flag.StringVar(&dataPath, "data", "", "single-label MedMNIST .npz file (default: the embedded BreastMNIST)")
	flag.StringVar(&methods, "methods", "simclr", "comma-separated pretext methods ("+strings.Join(ssl.Names(), ", ")+"), or none for a randomly initialised encoder")
	flag.StringVar(&arms, "arms", strings.Join(study.Arms(), ","), "comma-separated arms: "+strings.Join(study.Arms(), ", "))
	flag.StringVar(&fractions, "fractions", "0.1,1", "comma-separated label fractions in (0, 1]")
	flag.StringVar(&imbalances, "imbalance", "1", "comma-separated majority:minority ratios imposed on the training split (1: as it is)")
	flag.StringVar(&seeds, "seeds", "1,2,3", "comma-separated seeds; a single number n means seeds 1..n (write \"7,\" for seed 7 alone)")
	flag.StringVar(&encoderName, "encoder", "", "encoder by name, e.g. vit-tiny/4, vit-small/4 or resnet50-w32 (overrides -depth and -width)")
	flag.IntVar(&depth, "depth", 18, "ResNet depth: 18, 34 or 50")
	flag.IntVar(&width, "width", 16, "ResNet base width (64 is the standard ResNet)")
	flag.IntVar(&pretrainEpochs, "pretrain-epochs", 15, "pretraining epochs")
	flag.IntVar(&pretrainSteps, "pretrain-steps", 0, "pretraining steps (overrides -pretrain-epochs)")
	flag.IntVar(&epochs, "epochs", 15, "supervised epochs")
	flag.IntVar(&finetuneEpochs, "finetune-epochs", 0, "fine-tuning epochs (default: -epochs)")
	flag.IntVar(&probeEpochs, "probe-epochs", 100, "epochs of each linear probe (features are cached: cheap)")
	flag.IntVar(&batch, "batch", 128, "batch size of every training")
	flag.Float64Var(&encoderLR, "encoder-lr", 1, "fine-tuning: encoder learning rate as a multiple of the head's")
	flag.StringVar(&trainableFrom, "trainable-from", "", "fine-tuning: train only from this encoder scope on, e.g. encoder/stage4 (default: all)")
	flag.IntVar(&k, "k", 20, "kNN: neighbours")
	flag.Float64Var(&temperature, "temperature", 0.07, "kNN: temperature of the vote weights exp(sim/T)")
	flag.StringVar(&knnDistance, "knn-distance", "cosine", "kNN: cosine or euclidean")
	flag.StringVar(&augName, "augment", "supervised", "training augmentation of the supervised and fine-tuning arms: supervised (augment.SupervisedDefault) or none (the MedMNIST paper's protocol)")
	flag.IntVar(&bootstrap, "bootstrap", 1000, "bootstrap replicates of each cell's test-AUC interval (negative: none)")
	flag.StringVar(&out, "out", "medssl-study", "output folder: results.jsonl, checkpoints, report.md, cells.csv/json, plots (rerun with the same folder to resume)")
	flag.IntVar(&stopAfter, "stop-after", 0, "stop after computing this many cells (resume later with the same -out)")
	flag.BoolVar(&paper, "paper", false, "paper-scale protocol: full-width ResNet-18, 100 supervised/fine-tuning epochs, 200 pretraining epochs, 100 probe epochs")
	flag.BoolVar(&progress, "progress", false, "show GoMLX's progress bars inside each training")
	flag.BoolVar(&perCell, "per-cell", true, "add a table of every cell to report.md")
	flag.BoolVar(&reportOnly, "report-only", false, "compute nothing: rewrite report.md, cells.csv/json and the plots from -out's results.jsonl (every line, whatever settings it was computed with)")
	flag.Parse()
	if paper {
		width, pretrainEpochs, epochs, probeEpochs = 64, 200, 100, 100
	}

	cfg := study.Config{
		Pretrain:         study.PretrainSettings{Epochs: pretrainEpochs, Steps: pretrainSteps, BatchSize: batch, Augment: augment.MedicalDefault(), AugmentName: "medical", Progress: progress},
		Train:            supervised.Config{Epochs: epochs, BatchSize: batch, Progress: progress},
		TrainAugmentName: augName,
		FineTune:         study.FineTuneSettings{Epochs: finetuneEpochs, EncoderLRMultiplier: encoderLR, TrainableFrom: trainableFrom},
		Probe:            study.ProbeSettings{Epochs: probeEpochs},
		KNN:              study.KNNSettings{KNNConfig: supervised.KNNConfig{K: k, Temperature: temperature}},
		BootstrapReps:    bootstrap,
		OutDir:           out,
		StopAfter:        stopAfter,
	}
	var err error
	switch augName {
	case "supervised":
		cfg.Train.Augment = augment.SupervisedDefault()
	case "none":
	default:
		fatal(fmt.Errorf("-augment: %q is neither supervised nor none", augName))
	}
	switch knnDistance {
	case "cosine":
	case "euclidean":
		cfg.KNN.Distance = supervised.Euclidean
	default:
		fatal(fmt.Errorf("-knn-distance: %q is neither cosine nor euclidean", knnDistance))
	}
	cfg.Methods, cfg.Arms = list(methods), list(arms)
	if cfg.Fractions, err = floats("-fractions", fractions); err != nil {
		fatal(err)
	}
	if cfg.Imbalances, err = floats("-imbalance", imbalances); err != nil {
		fatal(err)
	}
	if cfg.Seeds, err = parseSeeds(seeds); err != nil {
		fatal(err)
	}
	if dataPath == "" {
		cfg.Dataset, err = data.BreastMNIST()
	} else {
		cfg.Dataset, err = data.LoadMedMNIST(dataPath)
	}
	if err != nil {
		fatal(err)
	}
	if cfg.Backend, err = medssl.Backend(); err != nil {
		fatal(err)
	}
	if encoderName != "" {
		if cfg.Encoder, err = models.ParseEncoder(encoderName); err != nil {
			fatal(err)
		}
	} else {
		enc := models.ResNetFor(depth, cfg.Dataset.Train.Height).Width(width)
		if err := enc.Validate(); err != nil {
			fatal(err)
		}
		cfg.Encoder = enc
	}
	fmt.Println(cfg.Describe())

	// Ctrl-C stops between two cells; everything finished so far is kept.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var st *study.Study
	if reportOnly {
		st, err = readStudy(cfg)
	} else {
		st, err = study.Run(ctx, cfg)
	}
	if err != nil && !errors.Is(err, study.ErrStopped) {
		fatal(err)
	}
	stopped := err != nil
	figures, err := plots(st)
	if err != nil {
		fmt.Fprintln(os.Stderr, "study: plots:", err)
	}
	if err := st.WriteFiles(study.MarkdownOptions{PerCell: perCell, Figures: figures}); err != nil {
		fatal(err)
	}
	report, err := os.ReadFile(filepath.Join(out, study.ReportFile))
	if err != nil {
		fatal(err)
	}
	fmt.Printf("\n%s\n", report)
	fmt.Printf("wrote %s, %s, %s and %d plots in %s\n", study.ReportFile, study.CSVFile, study.JSONFile, len(figures), out)
	fmt.Println("Data: MedMNIST (Yang et al., MedMNIST v2, Scientific Data 2023), CC BY 4.0.")
	if stopped {
		fmt.Printf("partial study (%d of %d cells): rerun with -out %s to finish it\n", len(st.Results), st.Cells, out)
	}
}

// readStudy reads every finished cell and pretraining of cfg.OutDir back, whatever
// settings they were computed with, for -report-only.
func readStudy(cfg study.Config) (*study.Study, error) {
	results, err := study.ReadResults(filepath.Join(cfg.OutDir, study.ResultsFile))
	if err != nil {
		return nil, err
	}
	pre, err := study.ReadPretrainings(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	return &study.Study{Config: cfg, Results: results, Pretrainings: pre, Resumed: len(results), Cells: len(results)}, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "study:", err)
	os.Exit(1)
}

func list(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func floats(flagName, s string) ([]float64, error) {
	var out []float64
	for _, x := range list(s) {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", flagName, x)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseSeeds(s string) ([]int64, error) {
	parts := list(s)
	if len(parts) == 1 {
		n, err := strconv.Atoi(parts[0])
		if err == nil && !strings.Contains(s, ",") && n > 0 && n <= 100 && s == strconv.Itoa(n) {
			out := make([]int64, n)
			for i := range out {
				out[i] = int64(i + 1)
			}
			return out, nil
		}
	}
	var out []int64
	for _, x := range parts {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-seeds: %q is not an integer", x)
		}
		out = append(out, v)
	}
	return out, nil
}
