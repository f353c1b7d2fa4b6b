// Command evaluate loads an encoder saved by examples/pretrain (ssl.SaveEncoder), whatever
// method trained it, and evaluates it with every protocol: a linear probe (learning rate ×
// weight decay searched on the validation split), weighted kNN on frozen features, and
// fine-tuning; the supervised baseline of the same architecture trains from scratch beside
// them. There is no conversion step: the checkpoint holds the encoder's variables under the
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
	"log"
	"strings"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

func main() {
	encDir := flag.String("encoder-dir", "", "encoder checkpoint written by examples/pretrain (required)")
	dataPath := flag.String("data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	fraction := flag.Float64("fraction", 1, "fraction of the training labels to use (stratified, seeded)")
	protocols := flag.String("protocols", "linear,knn,finetune,supervised", "comma-separated protocols to run")
	epochs := flag.Int("epochs", 15, "fine-tuning and supervised epochs")
	probeEpochs := flag.Int("probe-epochs", 100, "epochs of each linear probe")
	seed := flag.Int64("seed", 1, "seed")
	progress := flag.Bool("progress", false, "show progress bars")
	flag.Parse()
	if *encDir == "" {
		log.Fatal("evaluate: -encoder-dir is required (see examples/pretrain)")
	}

	ck, err := ssl.LoadEncoder(*encDir)
	if err != nil {
		log.Fatal(err)
	}
	enc, err := models.ParseEncoder(ck.Encoder)
	if err != nil {
		log.Fatalf("evaluate: %s: %v", *encDir, err)
	}
	var ds *data.Dataset
	if *dataPath == "" {
		ds, err = data.BreastMNIST()
	} else {
		ds, err = data.LoadMedMNIST(*dataPath)
	}
	if err != nil {
		log.Fatal(err)
	}
	trainSplit := ds.Train
	if *fraction < 1 {
		if trainSplit, err = data.LabelFraction(ds.Train, *fraction, *seed); err != nil {
			log.Fatal(err)
		}
	}
	backend := medssl.MustBackend()
	fmt.Printf("encoder %s pretrained with %s (%s); %s with %d labelled training images\n",
		ck.Encoder, ck.Method, *encDir, ds.Name, trainSplit.N)

	cfg := supervised.Config{Backend: backend, Encoder: enc, Epochs: *epochs, Seed: *seed, Progress: *progress,
		Augment: augment.SupervisedDefault()}
	fmt.Printf("%-12s %8s %8s %8s  %s\n", "protocol", "test AUC", "ACC", "bal.ACC", "selected on validation")
	for _, p := range strings.Split(*protocols, ",") {
		var m eval.Metrics
		var note string
		p = strings.TrimSpace(p)
		switch p {
		case "linear":
			probeCfg := cfg
			probeCfg.Epochs, probeCfg.Augment = *probeEpochs, nil
			res, err := supervised.LinearProbeSearch(trainSplit, ds.Val, ds.NumClasses, ck.Store, probeCfg, supervised.DefaultProbeGrid())
			if err != nil {
				log.Fatal(err)
			}
			m, err = res.Best.Evaluate(ds.Test)
			if err != nil {
				log.Fatal(err)
			}
			note = fmt.Sprintf("lr %g, weight decay %g, epoch %d", res.LearningRate, res.WeightDecay, res.Best.BestEpoch)
		case "knn":
			clf, err := supervised.KNN(backend, ck.Store, enc, trainSplit, ds.Val, ds.NumClasses, supervised.KNNConfig{}, 5, 10, 20, 50)
			if err != nil {
				log.Fatal(err)
			}
			if m, err = clf.Evaluate(ds.Test); err != nil {
				log.Fatal(err)
			}
			note = fmt.Sprintf("k %d", clf.Config.K)
		case "finetune", "supervised":
			c := cfg
			if p == "finetune" {
				c.Pretrained = ck.Store
			}
			clf, err := supervised.Train(trainSplit, ds.Val, ds.NumClasses, c)
			if err != nil {
				log.Fatal(err)
			}
			if m, err = clf.Evaluate(ds.Test); err != nil {
				log.Fatal(err)
			}
			note = fmt.Sprintf("epoch %d", clf.BestEpoch)
		default:
			log.Fatalf("evaluate: unknown protocol %q (want linear, knn, finetune, supervised)", p)
		}
		fmt.Printf("%-12s %8.3f %8.3f %8.3f  %s\n", p, m.AUC, m.ACC, m.BalancedACC, note)
	}
}
