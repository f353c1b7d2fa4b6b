// Command evaluate loads an encoder saved by examples/pretrain (ssl.SaveEncoder), whatever
// method trained it, and evaluates it with every arm of the study (eval.RunArm): a linear
// probe (learning rate × weight decay searched on the validation split), weighted kNN on
// frozen features (k chosen on it), and fine-tuning; the supervised baseline of the same
// architecture trains from scratch beside them. There is no conversion step: the checkpoint holds the encoder's variables under the
// name every protocol reads, and the encoder is rebuilt from the name recorded in it.
//
//	go run ./examples/pretrain -method byol -encoder resnet18-w16
//	go run ./examples/evaluate -encoder-dir medssl-pretrain/byol-resnet18-w16/encoder
//
// Model selection uses the validation split only; the table reports the test split.
package main

import (
	"flag"
	"fmt"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

func main() {
	encDir := flag.String("encoder-dir", "", "encoder checkpoint written by examples/pretrain (required)")
	dataPath := flag.String("data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	fraction := flag.Float64("fraction", 1, "fraction of the training labels to use (stratified, seeded)")
	arms := flag.String("arms", "linear,knn,finetune,supervised", "comma-separated arms to run")
	epochs := flag.Int("epochs", study.DefaultEpochs, "fine-tuning and supervised epochs")
	probeEpochs := flag.Int("probe-epochs", eval.DefaultProbeEpochs, "epochs of each linear probe")
	seed := flag.Int64("seed", 1, "seed")
	progress := flag.Bool("progress", false, "show progress bars")
	flag.Parse()
	if *encDir == "" {
		cli.Fatal(fmt.Errorf("-encoder-dir is required (see examples/pretrain)"))
	}
	armList, err := eval.ParseArms(*arms)
	if err != nil {
		cli.Fatal(err)
	}

	ck, err := ssl.LoadEncoder(*encDir)
	if err != nil {
		cli.Fatal(err)
	}
	enc, err := models.ParseEncoder(ck.Encoder)
	if err != nil {
		cli.Fatal(fmt.Errorf("%s: %w", *encDir, err))
	}
	ds, err := cli.Dataset(*dataPath)
	if err != nil {
		cli.Fatal(err)
	}
	trainSplit := ds.Train
	if *fraction < 1 {
		if trainSplit, err = data.LabelFraction(ds.Train, *fraction, *seed); err != nil {
			cli.Fatal(err)
		}
	}
	backend, err := medssl.Backend()
	if err != nil {
		cli.Fatal(err)
	}
	fmt.Printf("encoder %s pretrained with %s (%s); %s with %d labelled training images\n",
		ck.Encoder, ck.Method, *encDir, ds.Name, trainSplit.N)

	// The study's protocols, with the main job's supervised recipe and budget.
	protocols := study.DefaultConfig().Protocols
	protocols.Train.Epochs, protocols.FineTune.Epochs, protocols.Probe.Epochs = *epochs, *epochs, *probeEpochs
	protocols.Train.Progress = *progress
	protocols.KNNKs = []int{5, 10, 20, 50}
	in := eval.ArmInput{Backend: backend, Encoder: enc, Pretrained: ck.Store,
		Train: trainSplit, Val: ds.Val, Test: ds.Test, NumClasses: ds.NumClasses, Seed: *seed}
	fmt.Printf("%-12s %8s %8s %8s  %s\n", "arm", "test AUC", "ACC", "bal.ACC", "selected on validation")
	for _, arm := range armList {
		res, err := eval.RunArm(arm, in, protocols)
		if err != nil {
			cli.Fatal(err)
		}
		m, err := metrics.Compute(ds.Test.IntLabels(), res.TestScores)
		if err != nil {
			cli.Fatal(err)
		}
		fmt.Printf("%-12s %8.3f %8.3f %8.3f  %v\n", arm, m.AUC, m.ACC, m.BalancedACC, res.Selected)
	}
}
