// Command compare is medssl's main job: does self-supervised pretraining beat plain
// supervised training on a medical image set, with 10% and 100% of the labels?
//
// On BreastMNIST (embedded; or any MedMNIST .npz given with -data) it, for each seed:
//  1. pretrains SimCLR on the training images without their labels (resumable checkpoints);
//  2. with each label fraction (a seeded, stratified subset of the training labels) trains
//     - "supervised": the same encoder from random initialisation,
//     - "simclr+linear": a linear probe on the frozen pretrained features,
//     - "simclr+finetune": the pretrained encoder fine-tuned end to end,
//     each keeping the epoch with the best validation AUC;
//  3. evaluates every arm on the test split.
//
// It prints mean ± standard deviation over seeds of AUC, ACC and balanced accuracy per arm
// and label fraction, and writes every run to <out>/report.csv and <out>/report.json.
//
// The supervised and fine-tuning arms use the same training augmentations
// (augment.SupervisedDefault); pretraining uses the stronger medical views of augment.MedicalDefault.
//
// The defaults are sized to finish in about 15 minutes on a 2-core laptop with the pure-Go
// backend (a narrower ResNet-18 and short schedules); -paper selects the paper-scale protocol
// (full-width ResNet-18, 100 supervised epochs, 200 pretraining epochs).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

type settings struct {
	dataPath       string
	depth, width   int
	seeds          int
	firstSeed      int64
	fractions      []float64
	pretrainEpochs int
	epochs         int
	probeEpochs    int
	batch          int
	out            string
	progress       bool
	arms           map[string]bool
	augment        string
	reportLast     bool
}

var allArms = []string{"supervised", "simclr+linear", "simclr+finetune"}

func main() {
	var s settings
	var fractions, arms string
	paper := flag.Bool("paper", false, "paper-scale protocol: full-width ResNet-18, 100 supervised/fine-tuning epochs, 200 pretraining epochs")
	flag.StringVar(&s.dataPath, "data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	flag.IntVar(&s.depth, "depth", 18, "ResNet depth: 18, 34 or 50")
	flag.IntVar(&s.width, "width", 16, "ResNet base width (64 is the standard ResNet)")
	flag.IntVar(&s.seeds, "seeds", 3, "number of seeds (repeats of every arm)")
	flag.Int64Var(&s.firstSeed, "first-seed", 1, "seeds run from first-seed to first-seed+seeds-1 (to split a study across processes)")
	flag.StringVar(&fractions, "fractions", "0.1,1", "comma-separated label fractions")
	flag.IntVar(&s.pretrainEpochs, "pretrain-epochs", 15, "SimCLR pretraining epochs")
	flag.IntVar(&s.epochs, "epochs", 15, "supervised and fine-tuning epochs")
	flag.IntVar(&s.probeEpochs, "probe-epochs", 100, "linear-probe epochs (on cached features: cheap)")
	flag.IntVar(&s.batch, "batch", 128, "batch size")
	flag.StringVar(&s.out, "out", "medssl-out", "output folder for reports and pretraining checkpoints")
	flag.BoolVar(&s.progress, "progress", true, "show progress bars")
	flag.StringVar(&arms, "arms", strings.Join(allArms, ","), "comma-separated arms to run")
	flag.BoolVar(&s.reportLast, "report-last", false, "also report each arm's last-epoch model (arm@last) beside the best-validation-AUC one")
	flag.StringVar(&s.augment, "augment", "supervised", "training augmentation of the supervised and fine-tuning arms: supervised (augment.SupervisedDefault) or none (the MedMNIST paper's protocol)")
	flag.Parse()
	if *paper {
		s.width, s.pretrainEpochs, s.epochs = 64, 200, 100
	}
	var err error
	if s.fractions, err = parseFractions(fractions); err != nil {
		fatal(err)
	}
	if s.arms, err = parseArms(arms); err != nil {
		fatal(err)
	}
	if s.augment != "supervised" && s.augment != "none" {
		fatal(fmt.Errorf("-augment: %q is neither supervised nor none", s.augment))
	}
	if err := run(s); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}

func parseFractions(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 || v > 1 {
			return nil, fmt.Errorf("-fractions: %q is not a fraction in (0, 1]", f)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseArms(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		known := false
		for _, k := range allArms {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("-arms: unknown arm %q (known: %s)", a, strings.Join(allArms, ", "))
		}
		out[a] = true
	}
	return out, nil
}

func run(s settings) error {
	start := time.Now()
	var ds *data.Dataset
	var err error
	if s.dataPath == "" {
		ds, err = data.BreastMNIST()
	} else {
		ds, err = data.LoadMedMNIST(s.dataPath)
	}
	if err != nil {
		return err
	}
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	enc := models.ResNetFor(s.depth, ds.Train.Height).Width(s.width)
	if err := enc.Validate(); err != nil {
		return err
	}
	fmt.Printf("dataset %s: %s, %d classes, train %d / val %d / test %d images of %dx%dx%d\n",
		ds.Name, ds.Task, ds.NumClasses, ds.Train.N, ds.Val.N, ds.Test.N, ds.Train.Height, ds.Train.Width, ds.Train.Channels)
	fmt.Printf("encoder %s (width %d); seeds %d; label fractions %v; epochs: pretrain %d, supervised/fine-tune %d, probe %d\n",
		enc.Name(), s.width, s.seeds, s.fractions, s.pretrainEpochs, s.epochs, s.probeEpochs)
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return err
	}

	var report eval.Report
	for seed := s.firstSeed; seed < s.firstSeed+int64(s.seeds); seed++ {
		var pre *ssl.Pretrained
		if s.arms["simclr+linear"] || s.arms["simclr+finetune"] {
			if pre, err = pretrain(s, ds, enc, backend, seed); err != nil {
				return err
			}
		}

		for _, frac := range s.fractions {

			sub, err := data.LabelFraction(ds.Train, frac, seed)
			if err != nil {
				return err
			}
			base := supervised.Config{
				Backend: backend, Encoder: enc, Augment: trainAugment(s.augment),
				Epochs: s.epochs, BatchSize: s.batch, Seed: seed, Progress: s.progress,
			}
			arms := []struct {
				name string
				fit  func() (*supervised.Classifier, error)
			}{
				{"supervised", func() (*supervised.Classifier, error) {
					return supervised.Train(sub, ds.Val, ds.NumClasses, base)
				}},
				{"simclr+linear", func() (*supervised.Classifier, error) {
					cfg := base
					cfg.Epochs = s.probeEpochs
					return supervised.LinearProbe(sub, ds.Val, ds.NumClasses, pre.Store, cfg)
				}},
				{"simclr+finetune", func() (*supervised.Classifier, error) {
					cfg := base
					cfg.Pretrained = pre.Store
					return supervised.Train(sub, ds.Val, ds.NumClasses, cfg)
				}},
			}
			for _, arm := range arms {
				if !s.arms[arm.name] {
					continue
				}
				t0 := time.Now()
				clf, err := arm.fit()
				if err != nil {
					return fmt.Errorf("%s, fraction %v, seed %d: %w", arm.name, frac, seed, err)
				}
				m, err := clf.Evaluate(ds.Test)
				if err != nil {
					return err
				}
				row := eval.Row{Arm: arm.name, Fraction: frac, Seed: seed, Metrics: m.Map(),
					WallTime: time.Since(t0), Epochs: len(clf.ValAUC), BestEpoch: clf.BestEpoch}
				if err := report.Add(row); err != nil {
					return err
				}
				fmt.Printf("seed %d  %4.0f%% labels (%d images)  %-16s test AUC %.3f  ACC %.3f  balanced ACC %.3f  (best val AUC %.3f at epoch %d, %s)\n",
					seed, frac*100, sub.N, arm.name, m.AUC, m.ACC, m.BalancedACC, clf.BestValAUC, clf.BestEpoch, time.Since(t0).Round(time.Second))
				if s.reportLast {
					last, err := clf.Final.Evaluate(ds.Test)
					if err != nil {
						return err
					}
					epochs := len(clf.ValAUC)
					if err := report.Add(eval.Row{Arm: arm.name + "@last", Fraction: frac, Seed: seed, Metrics: last.Map(),
						Epochs: epochs, BestEpoch: epochs}); err != nil {
						return err
					}
					fmt.Printf("seed %d  %4.0f%% labels (%d images)  %-16s test AUC %.3f  ACC %.3f  balanced ACC %.3f  (last epoch %d, val AUC %.3f)\n",
						seed, frac*100, sub.N, arm.name+"@last", last.AUC, last.ACC, last.BalancedACC, epochs, clf.ValAUC[epochs-1])
				}
			}
		}
	}
	fmt.Println()
	if err := report.WriteTable(os.Stdout); err != nil {
		return err
	}
	if err := report.WriteFiles(s.out, "report"); err != nil {
		return err
	}
	fmt.Printf("\nwrote %s; backend %s; wall time %s\n", filepath.Join(s.out, "report.{txt,csv,json}"), backend.Name(), time.Since(start).Round(time.Second))
	fmt.Println("Data: MedMNIST (Yang et al., MedMNIST v2, Scientific Data 2023), CC BY 4.0.")
	return nil
}

// pretrain runs (or resumes from its checkpoint) SimCLR pretraining for one seed.
func pretrain(s settings, ds *data.Dataset, enc models.ResNetConfig, backend compute.Backend, seed int64) (*ssl.Pretrained, error) {
	t0 := time.Now()
	pre, err := ssl.Pretrain(ds.Train, ssl.PretrainConfig{
		Backend: backend, Encoder: enc, Method: ssl.NewSimCLR(),
		Augment: augment.MedicalDefault(), Epochs: s.pretrainEpochs, BatchSize: s.batch,
		Seed: seed, Progress: s.progress,
		CheckpointDir: filepath.Join(s.out, "checkpoints", fmt.Sprintf("simclr-%s-seed%d-ep%d", enc.Name(), seed, s.pretrainEpochs)),
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("seed %d: SimCLR pretraining %d steps, loss %s, %s\n", seed, pre.Steps, lossSummary(pre.Loss), time.Since(t0).Round(time.Second))
	return pre, nil
}

func trainAugment(name string) augment.Transform {
	if name == "none" {
		return nil
	}
	return augment.SupervisedDefault()
}

func lossSummary(l []float64) string {
	if len(l) == 0 {
		return "(resumed from a finished checkpoint)"
	}
	return fmt.Sprintf("%.3f -> %.3f", l[0], l[len(l)-1])
}
