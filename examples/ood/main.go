// Command ood evaluates out-of-distribution detection on the frozen features of an encoder:
// a linear probe and a class-conditional Gaussian are fitted on BreastMNIST's training
// split (the probe selected on its validation split), then BreastMNIST's test images
// (in-distribution) are told apart from another MedMNIST set's test images (by default
// PneumoniaMNIST chest X-rays) by three scores: the probe's maximum softmax probability,
// its energy (log-sum-exp of the logits) and the Mahalanobis distance of the features.
//
//	go run ./examples/pretrain -method byol -encoder resnet18-w16
//	go run ./examples/ood -encoder-dir medssl-pretrain/byol-resnet18-w16/encoder
//
// Without -encoder-dir a randomly initialised -encoder is used: the floor a pretrained
// encoder should beat.
package main

import (
	"flag"
	"fmt"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

func main() {
	encDir := flag.String("encoder-dir", "", "encoder checkpoint written by examples/pretrain (default: a random -encoder)")
	encoderName := flag.String("encoder", "resnet18-w16", "random encoder used without -encoder-dir: resnet18|34|50[-w<width>] or vit-tiny|vit-small/<patch>")
	dataPath := flag.String("data", "", "in-distribution MedMNIST .npz file (default: the embedded BreastMNIST)")
	oodPath := flag.String("ood", "internal/testdata/files/pneumoniamnist_imbalanced.npz", "MedMNIST .npz whose test split is the OOD set")
	probeEpochs := flag.Int("probe-epochs", eval.DefaultProbeEpochs, "epochs of each linear probe")
	search := flag.Bool("search", true, "search the probe's learning rate (eval.DefaultSearch: ×0.1, ×1, ×10) on the validation split")
	temperature := flag.Float64("energy-temperature", eval.DefaultOODConfig().Temperature, "temperature of the energy score")
	seed := flag.Int64("seed", 1, "seed")
	flag.Parse()

	var store *model.Store
	var enc models.Encoder
	var err error
	source := "random initialisation"
	if *encDir != "" {
		ck, err := ssl.LoadEncoder(*encDir)
		if err != nil {
			cli.Fatal(err)
		}
		if enc, err = models.ParseEncoder(ck.Encoder); err != nil {
			cli.Fatal(fmt.Errorf("%s: %w", *encDir, err))
		}
		store, source = ck.Store, fmt.Sprintf("%s pretraining (%s)", ck.Method, *encDir)
	} else {
		if enc, err = cli.Encoder("encoder", *encoderName); err != nil {
			cli.Fatal(err)
		}
		store = eval.RandomEncoder(*seed)
	}
	in, err := cli.Dataset(*dataPath)
	if err != nil {
		cli.Fatal(err)
	}
	out, err := data.LoadMedMNIST(*oodPath)
	if err != nil {
		cli.Fatal(err)
	}
	backend, err := medssl.Backend()
	if err != nil {
		cli.Fatal(err)
	}

	cfg := eval.DefaultOODConfig()
	cfg.Probe.Backend, cfg.Probe.Encoder, cfg.Probe.Epochs, cfg.Probe.Seed = backend, enc, *probeEpochs, *seed
	cfg.Val, cfg.Temperature = in.Val, *temperature
	if *search {
		cfg.Search = eval.DefaultSearch()
	}
	rep, err := eval.DetectOOD(store, in.Train, in.Test, out.Test, cfg)
	if err != nil {
		cli.Fatal(err)
	}
	fmt.Printf("encoder %s from %s\n", enc.Name(), source)
	fmt.Printf("fit on %s train (%d images; probe lr %g, weight decay %g, epoch %d, test AUC %.3f)\n",
		in.Name, in.Train.N, rep.LearningRate, rep.WeightDecay, rep.Probe.Head.BestEpoch, rep.InTestAUC)
	fmt.Printf("in-distribution: %s test (%d images); OOD: %s test (%d images%s)\n\n",
		in.Name, in.Test.N, out.Name, out.Test.N, map[bool]string{true: ", channels converted"}[rep.OutConverted])
	fmt.Printf("%-12s %7s %14s\n", "score", "AUROC", fmt.Sprintf("FPR@%g%%TPR", 100*rep.TPR))
	for _, s := range rep.Scores() {
		fmt.Printf("%-12s %7.3f %14.3f\n", s.Name, s.AUROC, s.FPR)
	}
}
