// Command study is medssl's main job: does self-supervised pretraining beat plain supervised
// training on a medical image set, and where — at which fraction of labels, under which
// class imbalance, with which evaluation protocol?
//
// On BreastMNIST (embedded), a MedMNIST .npz or an image folder with labels.csv (split by
// patient; single- or multi-label) given with -data, it runs the grid methods × arms ×
// label fractions × imbalance ratios × seeds of package eval/study:
//
//   - supervised: the encoder trained from scratch on the labelled subset (the baseline),
//     with or without a remedy against class imbalance (-remedy);
//   - linear:     a linear probe on frozen pretrained features;
//   - knn:        weighted kNN on frozen pretrained features;
//   - finetune:   the pretrained encoder fine-tuned (fully, or from -trainable-from on);
//
// every trained arm searching the same learning-rate grid on validation (-search). Each
// method pretrains once per seed (and imbalance, fold) and serves every arm. -folds k
// replaces the validation split by k-fold cross-validation; -pool pretrains on another
// unlabelled source; -external scores other test sets beside the internal one; -explain
// draws Grad-CAM or attention rollout of every arm on the same test images; -shard i/n runs
// part of the grid, as one of n processes or machines. A folder of NIfTI volumes (imagesTr/
// and labelsTr/) makes it a segmentation study: U-Net arms (supervised, frozen, finetune)
// on slices, label fractions of volumes, Dice in 3D.
//
// Every finished cell is appended to a results file in -out: rerun with the same -out to
// resume after an interruption; finished cells are never recomputed. At the end it writes
// <out>/report.md (tables with mean ± sd and 95% intervals over seeds, paired tests against
// the supervised baseline with Holm correction), cells.csv, cells.json and PNG plots, and
// prints the report.
//
// The defaults are study.DefaultConfig, sized for a 2-core laptop on the pure-Go backend;
// -paper starts from study.PaperConfig (the papers' scale) instead. Flags given explicitly
// override either.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/segment"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

func main() {
	// Ctrl-C stops between two cells; everything finished so far is kept.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		cli.Fatal(err)
	}
}

// run is the whole command, testable: it parses args, runs (or resumes) the study and
// writes its report, printing to stdout.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	def := study.DefaultConfig()
	fs := flag.NewFlagSet("study", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var (
		dataPath       = fs.String("data", "", "MedMNIST .npz file, or a folder of images with labels.csv (one label column, or 0/1 finding columns for multi-label), split by patient (default: the embedded BreastMNIST)")
		imageSize      = fs.Int("image-size", 28, "-data folder: resize images to this side (MedMNIST's 28 by default)")
		splitFractions = fs.String("split", "0.7,0.1,0.2", "-data folder: train,val,test fractions of the patients")
		splitSeed      = fs.Int64("split-seed", 1, "-data folder: seed of the patient split (its manifest is written to -out)")
		sliceSize      = fs.String("slice-size", "64x48", "-data NIfTI folder: slices are centred, padded or cropped to HxW")
		plane          = fs.String("plane", "axial", "-data NIfTI folder: slicing plane (axial, coronal, sagittal)")
		volumes        = fs.Int("volumes", 0, "-data NIfTI folder: use this many volumes, drawn with -split-seed (0: all)")
		segSteps       = fs.Int("seg-steps", 300, "-data NIfTI folder: optimisation steps of every segmentation arm (0: -epochs epochs), lengthened to -seg-min-epochs epochs where that is more")
		segMinEpochs   = fs.Int("seg-min-epochs", 5, "-data NIfTI folder: every segmentation arm trains at least this many epochs over its labelled slices, however few -seg-steps are (so that the largest label fraction is not stopped while the arm trained from scratch is still learning)")
		valEvery       = fs.Int("val-every", 50, "-data NIfTI folder: steps between two validations of a segmentation arm (each recompiles the inference graph)")
		overlays       = fs.Int("overlays", 4, "-data NIfTI folder: test slices drawn with every arm's prediction (first seed)")
		holdout        = fs.Float64("holdout", 0, "carve this fraction of the training split out as the internal test set (stratified, by patient), e.g. when the file's own test split is given as -external")
		methods        = fs.String("methods", strings.Join(def.Methods, ","), "comma-separated pretext methods ("+strings.Join(ssl.Names(), ", ")+"), or none for a randomly initialised encoder")
		arms           = fs.String("arms", armNames(def.Arms), "comma-separated arms: "+armNames(eval.Arms()))
		remedies       = fs.String("remedy", strings.Join(def.Remedies, ","), "comma-separated remedies against class imbalance for the trained arms: "+strings.Join(supervised.RemedyNames(), ", "))
		recipe         = fs.String("recipe", string(def.PretrainRecipe), "pretraining recipe for every method: adam, paper or solo (ssl.Recipe; empty: ssl.DefaultPretrainConfig's optimiser)")
		search         = fs.String("search", floatList(def.Protocols.Search.LRFactors), "learning-rate factors every trained arm searches on validation AUC (e.g. 0.1,1,10; 1 for no search)")
		knnMonitor     = fs.Bool("knn-monitor", def.KNNMonitor, "watch each pretraining with a kNN classifier's validation AUC")
		monitorEpochs  = fs.Int("monitor-epochs", def.Pretrain.MonitorEpochs, "epochs between two collapse and kNN measurements during pretraining (0: none)")
		fractions      = fs.String("fractions", floatList(def.Fractions), "comma-separated label fractions in (0, 1]")
		imbalances     = fs.String("imbalance", floatList(def.Imbalances), "comma-separated majority:minority ratios imposed on the training split (1: as it is)")
		seeds          = fs.String("seeds", fmt.Sprint(len(def.Seeds)), "seeds: a number n means 1..n, or a comma-separated list (\"7,\" for seed 7 alone)")
		encoderName    = fs.String("encoder", def.Encoder.Name(), "encoder: resnet18|34|50[-w<width>] or vit-tiny|vit-small/<patch>")
		pretrainEpochs = fs.Int("pretrain-epochs", def.Pretrain.Epochs, "pretraining epochs")
		pretrainSteps  = fs.Int("pretrain-steps", def.Pretrain.Steps, "pretraining steps (overrides -pretrain-epochs when > 0)")
		epochs         = fs.Int("epochs", def.Protocols.Train.Epochs, "supervised epochs")
		minSteps       = fs.Int("min-steps", def.Protocols.Train.MinSteps, "supervised and fine-tuning runs train at least this many steps, adding epochs when few labels make epochs short (0: epochs as they are); the report's budget check says when an arm may need it")
		finetuneEpochs = fs.Int("finetune-epochs", def.Protocols.FineTune.Epochs, "fine-tuning epochs")
		probeEpochs    = fs.Int("probe-epochs", def.Protocols.Probe.Epochs, "epochs of each linear probe (features are cached: cheap)")
		batch          = fs.Int("batch", def.Protocols.Train.BatchSize, "batch size of every training")
		pretrainBatch  = fs.Int("pretrain-batch", def.Pretrain.BatchSize, "pretraining batch size, when it should differ from -batch")
		encoderLR      = fs.Float64("encoder-lr", def.Protocols.FineTune.EncoderLRMultiplier, "fine-tuning: encoder learning rate as a multiple of the head's (0 freezes it)")
		trainableFrom  = fs.String("trainable-from", def.Protocols.FineTune.TrainableFrom, "fine-tuning: train only from this encoder scope on, e.g. encoder/stage4 (default: all)")
		k              = fs.Int("k", def.Protocols.KNN.K, "kNN: neighbours")
		knnTemperature = fs.Float64("knn-temperature", def.Protocols.KNN.Temperature, "kNN: temperature of the vote weights exp(sim/T)")
		knnDistance    = fs.String("knn-distance", def.Protocols.KNN.Distance.String(), "kNN: cosine or euclidean")
		augName        = fs.String("augment", "supervised", "training augmentation of the supervised and fine-tuning arms: supervised (augment.SupervisedDefault) or none (the MedMNIST paper's protocol)")
		bootstrap      = fs.Int("bootstrap", def.BootstrapReps, "bootstrap replicates of each cell's test-AUC interval (0: none)")
		out            = fs.String("out", def.OutDir, "output folder: results.jsonl, checkpoints, report.md, cells.csv/json, plots (rerun with the same folder to resume)")
		stopAfter      = fs.Int("stop-after", 0, "stop after computing this many cells (resume later with the same -out)")
		paper          = fs.Bool("paper", false, "start from study.PaperConfig: standard-width ResNet-18, 200 pretraining epochs, 100 supervised and fine-tuning epochs")
		progress       = fs.Bool("progress", false, "show GoMLX's progress bars inside each training")
		perCell        = fs.Bool("per-cell", true, "add a table of every cell to report.md")
		reportOnly     = fs.Bool("report-only", false, "compute nothing: rewrite report.md, cells.csv/json and the plots from -out's results files (every line, whatever settings it was computed with)")
		remedyArms     = fs.String("remedy-arms", "", "comma-separated trained arms the -remedy list applies to (default: supervised,linear,finetune); the others train without a remedy")
		folds          = fs.Int("folds", def.Folds, "k-fold cross-validation on train+val (by patient, stratified, per seed) instead of the fixed validation split (0: none)")
		pools          = fs.String("pool", "", "comma-separated unlabelled pretraining pools: MedMNIST .npz files (all their images) or image folders (streamed), each named after its file; dev, the dataset's own train and val images (one pretraining per seed for every fold); or train, its training images as they are (one pretraining per seed for every imbalance)")
		pretrainOn     = fs.String("pretrain-on", "", "comma-separated pretraining sources of the methods: own (each cell's training images) and/or pool names (default: own, plus every -pool)")
		externals      = fs.String("external", "", "comma-separated external test sets: file.npz (its test split), file.npz#train|val|test|all, or an image folder with the dataset's classes")
		explainN       = fs.Int("explain", def.Explain, "explain every arm of the first seed on this many test images per class (Grad-CAM, or attention rollout for ViTs), drawn as one grid per label fraction (0: none)")
		workers        = fs.Int("workers", def.Workers, "jobs (a pretraining with its cells, or a cell) run at once in this process; results do not depend on it, peak memory grows with it (1: one after the other; -progress implies 1)")
		shard          = fs.String("shard", "", "run only shard i/n of the grid (e.g. 2/3), as one of n processes or machines sharing -out; then run once without -shard to write the report")
		merge          = fs.String("merge", "", "comma-separated study folders (shards run apart) to merge into -out; then the report is written from -out, computing nothing")
		cpuProfile     = fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof reads it)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("-cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("-cpuprofile %s: %w", *cpuProfile, err)
		}
		defer pprof.StopCPUProfile()
	}
	cfg := def
	if *paper {
		cfg = study.PaperConfig()
	}
	// Flags given explicitly override the starting configuration.
	var err error
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	apply := func(name string, f func() error) {
		if err == nil && (set[name] || !*paper) {
			err = f()
		}
	}
	apply("methods", func() error { cfg.Methods = cli.List(*methods); return nil })
	apply("remedy", func() error { cfg.Remedies = cli.List(*remedies); return nil })
	apply("recipe", func() error {
		if *recipe == "" {
			cfg.PretrainRecipe = ""
			return nil
		}
		r, err := ssl.ParseRecipe(*recipe)
		cfg.PretrainRecipe = r
		return err
	})
	apply("search", func() (e error) { cfg.Protocols.Search.LRFactors, e = cli.Floats("search", *search); return e })
	apply("knn-monitor", func() error { cfg.KNNMonitor = *knnMonitor; return nil })
	apply("monitor-epochs", func() error { cfg.Pretrain.MonitorEpochs = *monitorEpochs; return nil })
	apply("fractions", func() (e error) { cfg.Fractions, e = cli.Floats("fractions", *fractions); return e })
	apply("imbalance", func() (e error) { cfg.Imbalances, e = cli.Floats("imbalance", *imbalances); return e })
	apply("seeds", func() (e error) { cfg.Seeds, e = cli.Seeds(*seeds); return e })
	apply("encoder", func() (e error) { cfg.Encoder, e = cli.Encoder("encoder", *encoderName); return e })
	apply("pretrain-epochs", func() error { cfg.Pretrain.Epochs = *pretrainEpochs; return nil })
	apply("pretrain-steps", func() error { cfg.Pretrain.Steps = *pretrainSteps; return nil })
	apply("epochs", func() error { cfg.Protocols.Train.Epochs = *epochs; return nil })
	apply("min-steps", func() error { cfg.Protocols.Train.MinSteps = *minSteps; return nil })
	apply("finetune-epochs", func() error { cfg.Protocols.FineTune.Epochs = *finetuneEpochs; return nil })
	apply("probe-epochs", func() error { cfg.Protocols.Probe.Epochs = *probeEpochs; return nil })
	apply("batch", func() error {
		cfg.Pretrain.BatchSize, cfg.Protocols.Train.BatchSize, cfg.Protocols.Probe.BatchSize = *batch, *batch, *batch
		return nil
	})
	if set["pretrain-batch"] {
		cfg.Pretrain.BatchSize = *pretrainBatch
	}
	apply("encoder-lr", func() error { cfg.Protocols.FineTune.EncoderLRMultiplier = *encoderLR; return nil })
	apply("trainable-from", func() error { cfg.Protocols.FineTune.TrainableFrom = *trainableFrom; return nil })
	apply("k", func() error { cfg.Protocols.KNN.K = *k; return nil })
	apply("knn-temperature", func() error { cfg.Protocols.KNN.Temperature = *knnTemperature; return nil })
	apply("knn-distance", func() (e error) { cfg.Protocols.KNN.Distance, e = eval.ParseDistance(*knnDistance); return e })
	apply("augment", func() error {
		switch *augName {
		case "supervised":
			cfg.Protocols.Train.Augment = augment.SupervisedDefault()
		case "none":
			cfg.Protocols.Train.Augment = nil
		default:
			return fmt.Errorf("-augment: %q is neither supervised nor none", *augName)
		}
		return nil
	})
	apply("bootstrap", func() error { cfg.BootstrapReps = *bootstrap; return nil })
	apply("folds", func() error { cfg.Folds = *folds; return nil })
	apply("explain", func() error { cfg.Explain = *explainN; return nil })
	apply("remedy-arms", func() (e error) {
		if *remedyArms != "" {
			cfg.RemedyArms, e = eval.ParseArms(*remedyArms)
		}
		return e
	})
	apply("shard", func() (e error) { cfg.Shard, e = study.ParseShard(*shard); return e })
	if err != nil {
		return err
	}
	cfg.OutDir, cfg.StopAfter, cfg.Progress = *out, *stopAfter, stdout
	cfg.Pretrain.Progress, cfg.Protocols.Train.Progress = *progress, *progress
	if cfg.Workers = *workers; *progress {
		cfg.Workers = 1 // progress bars of concurrent trainings would overwrite each other
	}
	if cli.IsNIfTIFolder(*dataPath) {
		// A segmentation study: U-Net arms on slices of the volumes (eval/study.Segmentation).
		cfg.Dataset = nil
		if cfg.Segmentation, err = segmentation(*dataPath, *sliceSize, *plane, *volumes, *splitFractions, *splitSeed, *out, *overlays); err != nil {
			return err
		}
		p := &cfg.Segmentation.Protocol
		p.BatchSize, p.Steps, p.MinEpochs, p.ValEvery, p.Progress = *batch, *segSteps, *segMinEpochs, *valEvery, *progress
		if *segSteps == 0 {
			p.Epochs = *epochs
		}
		if !set["arms"] {
			*arms = "supervised,frozen,finetune"
		}
		cfg.Arms = nil
		for _, a := range cli.List(*arms) {
			arm, err := segment.ParseArm(a)
			if err != nil {
				return fmt.Errorf("-arms: %w", err)
			}
			cfg.Arms = append(cfg.Arms, eval.Arm(arm))
		}
	} else {
		if cfg.Arms, err = eval.ParseArms(*arms); err != nil {
			return err
		}
		if cfg.Dataset, err = dataset(*dataPath, *imageSize, *splitFractions, *splitSeed, *holdout, *out); err != nil {
			return err
		}
		if err := sources(&cfg, *pools, *pretrainOn, *externals, stdout); err != nil {
			return err
		}
	}
	if cfg.Backend, err = medssl.Backend(); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, cfg.Describe())

	var st *study.Study
	switch {
	case *merge != "":
		m, err := study.Merge(cfg.OutDir, cli.List(*merge)...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "merged %d results (%d already there) and %d pretrainings into %s\n", m.Results, m.Duplicates, m.Pretrainings, cfg.OutDir)
		st, err = study.Read(cfg)
	case *reportOnly:
		st, err = readStudy(cfg)
	default:
		st, err = study.Run(ctx, cfg)
	}
	if err != nil && !errors.Is(err, study.ErrStopped) {
		return err
	}
	stopped := err != nil
	if cfg.Shard.Count > 0 {
		// Shards sharing -out would write the report files at the same time.
		fmt.Fprintf(stdout, "shard %s: %d of the grid's %d cells are finished in %s; when every shard is done, run the same command without -shard to write the report\n",
			cfg.Shard, len(st.Results), st.Cells, cfg.OutDir)
		return nil
	}
	if err := st.WriteFiles(study.MarkdownOptions{PerCell: *perCell}); err != nil {
		fmt.Fprintln(stdout, "study:", err) // a figure failed; the report and tables are written
	}
	report, err := os.ReadFile(filepath.Join(cfg.OutDir, study.ReportFile))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s\n", report)
	fmt.Fprintf(stdout, "wrote %s, %s, %s and the plots in %s\n", study.ReportFile, study.CSVFile, study.JSONFile, cfg.OutDir)
	if st, err := os.Stat(*dataPath); err == nil && st.IsDir() {
		fmt.Fprintf(stdout, "Data: %s; credit its source as its README says.\n", *dataPath)
	} else {
		fmt.Fprintln(stdout, "Data: MedMNIST (Yang et al., MedMNIST v2, Scientific Data 2023), CC BY 4.0.")
	}
	if stopped {
		fmt.Fprintf(stdout, "partial study (%d of %d cells): rerun with -out %s to finish it\n", len(st.Results), st.Cells, cfg.OutDir)
	}
	return nil
}

// dataset loads -data: a MedMNIST file (or the embedded BreastMNIST) or an image folder split
// by patient, with -holdout's internal test set carved out of its training split.
func dataset(path string, size int, split string, splitSeed int64, holdout float64, out string) (*data.Dataset, error) {
	var ds *data.Dataset
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		fr, err := cli.Floats("split", split)
		if err != nil {
			return nil, err
		}
		if len(fr) != 3 {
			return nil, fmt.Errorf("-split %q: want train,val,test fractions", split)
		}
		ds, err = cli.FolderDataset(path, size, data.SplitFractions{Train: fr[0], Val: fr[1], Test: fr[2]}, splitSeed, filepath.Join(out, "manifest.json"))
		if err != nil {
			return nil, err
		}
	} else if ds, err = cli.Dataset(path); err != nil {
		return nil, err
	}
	if holdout > 0 {
		return cli.HoldOut(ds, holdout, splitSeed)
	}
	return ds, nil
}

// segmentation loads a NIfTI segmentation folder split by volume into a study's
// Segmentation (protocol: segment.DefaultConfig).
func segmentation(dir, size, planeName string, volumes int, split string, seed int64, out string, overlays int) (*study.Segmentation, error) {
	h, w, err := cli.Size("slice-size", size)
	if err != nil {
		return nil, err
	}
	plane, err := cli.Plane("plane", planeName)
	if err != nil {
		return nil, err
	}
	fr, err := cli.Floats("split", split)
	if err != nil {
		return nil, err
	}
	if len(fr) != 3 {
		return nil, fmt.Errorf("-split %q: want train,val,test fractions", split)
	}
	train, val, test, err := cli.SegmentationSplits(dir, volumes, data.SplitFractions{Train: fr[0], Val: fr[1], Test: fr[2]}, seed, filepath.Join(out, "manifest.json"))
	if err != nil {
		return nil, err
	}
	sc := seg.DefaultSliceConfig(h, w)
	sc.Plane = plane
	return &study.Segmentation{Name: filepath.Base(filepath.Clean(dir)), Train: train, Val: val, Test: test, Slices: sc,
		Protocol: segment.DefaultConfig(), Overlays: overlays}, nil
}

// sources sets the study's pretraining pools, their use and its external test sets from
// the flags.
func sources(cfg *study.Config, pools, pretrainOn, externals string, log io.Writer) error {
	for _, p := range cli.List(pools) {
		switch p {
		case "dev":
			pool, err := cli.DevPool(cfg.Dataset)
			if err != nil {
				return err
			}
			cfg.Pools = append(cfg.Pools, pool)
			continue
		case "train":
			// The training images as they are, before any imbalance is imposed: one
			// pretraining per seed serves every imbalance ratio and fraction.
			cfg.Pools = append(cfg.Pools, study.Pool{Name: "train", Source: cfg.Dataset.Train})
			continue
		}
		pool, err := cli.Pool(p, cfg.Dataset.Train, log)
		if err != nil {
			return err
		}
		cfg.Pools = append(cfg.Pools, pool)
	}
	if pretrainOn != "" {
		cfg.PretrainOn = cli.List(pretrainOn)
	} else {
		for _, p := range cfg.Pools {
			cfg.PretrainOn = append(cfg.PretrainOn, p.Name)
		}
	}
	for _, e := range cli.List(externals) {
		ts, err := cli.TestSet(e, cfg.Dataset)
		if err != nil {
			return err
		}
		cfg.ExternalTests = append(cfg.ExternalTests, ts)
	}
	return nil
}

// readStudy reads every finished cell and pretraining of cfg.OutDir back, whatever
// settings they were computed with, for -report-only.
func readStudy(cfg study.Config) (*study.Study, error) {
	results, err := study.ReadAllResults(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	pre, err := study.ReadPretrainings(cfg.OutDir)
	if err != nil {
		return nil, err
	}
	return &study.Study{Config: cfg, Results: results, Pretrainings: pre, Resumed: len(results), Cells: len(results)}, nil
}

func armNames(arms []eval.Arm) string {
	names := make([]string, len(arms))
	for i, a := range arms {
		names[i] = string(a)
	}
	return strings.Join(names, ",")
}

func floatList(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}
