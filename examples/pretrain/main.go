// Command pretrain pretrains an encoder with any registered pretext method and saves the
// encoder's weights on their own, in the form every evaluation protocol loads by name.
//
//	go run ./examples/pretrain -method byol -encoder resnet18-w16
//	go run ./examples/pretrain -method mae -encoder vit-tiny/4 -epochs 50
//	go run ./examples/evaluate -encoder-dir medssl-pretrain/byol-resnet18-w16/encoder
//
// Data: the embedded BreastMNIST, or any MedMNIST .npz given with -data; only the training
// images are read, never their labels. Training is checkpointed under -out and an
// interrupted run resumes where it stopped. The loss and the collapse measurements (the
// spread of the normalised features and their effective rank) are printed once per epoch.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/ssl"
)

func main() {
	def := ssl.DefaultPretrainConfig()
	methodName := flag.String("method", "simclr", "pretext method: one of "+strings.Join(ssl.Names(), ", "))
	encoderName := flag.String("encoder", "resnet18-w16", "encoder: resnet18|34|50[-w<width>] or vit-tiny|vit-small/<patch>")
	dataPath := flag.String("data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	epochs := flag.Int("epochs", 20, "pretraining epochs")
	batch := flag.Int("batch", def.BatchSize, "batch size")
	recipeName := flag.String("recipe", string(ssl.RecipeAdam), "optimisation recipe: adam (Adam 1e-3, constant), paper (the method's paper recipe, scaled to -batch) or solo (solo-learn's LARS)")
	augName := flag.String("augment", "medical", "view augmentations: medical (augment.MedicalDefault) or simclr (augment.SimCLRDefault)")
	seed := flag.Int64("seed", 1, "seed")
	out := flag.String("out", "medssl-pretrain", "output directory: <out>/<method>-<encoder>/{checkpoints,encoder}")
	progress := flag.Bool("progress", true, "show a progress bar")
	flag.Parse()

	method, err := ssl.New(*methodName)
	if err != nil {
		cli.Fatal(err)
	}
	recipe, err := ssl.ParseRecipe(*recipeName)
	if err != nil {
		cli.Fatal(err)
	}
	enc, err := cli.Encoder("encoder", *encoderName)
	if err != nil {
		cli.Fatal(err)
	}
	var aug augment.Transform
	switch *augName {
	case "medical":
		aug = augment.MedicalDefault()
	case "simclr":
		aug = augment.SimCLRDefault()
	default:
		cli.Fatal(fmt.Errorf("-augment: %q is neither medical nor simclr", *augName))
	}
	ds, err := cli.Dataset(*dataPath)
	if err != nil {
		cli.Fatal(err)
	}
	backend, err := medssl.Backend()
	if err != nil {
		cli.Fatal(err)
	}

	runDir := filepath.Join(*out, strings.ReplaceAll(method.Name()+"-"+enc.Name(), "/", "_"))
	fmt.Printf("pretraining %s on %s with %s: %d images, %d epochs, batch %d -> %s\n",
		enc.Name(), ds.Name, method.Name(), ds.Train.N, *epochs, *batch, runDir)
	cfg := def
	cfg.Backend, cfg.Encoder, cfg.Method, cfg.Augment = backend, enc, method, aug
	cfg.Epochs, cfg.BatchSize, cfg.Seed = *epochs, *batch, *seed
	if cfg.Optimizer, err = recipe.For(method, enc, *batch); err != nil {
		cli.Fatal(err)
	}
	fmt.Printf("optimiser: %s\n", cfg.Optimizer)
	cfg.CheckpointDir, cfg.Progress, cfg.Log = filepath.Join(runDir, "checkpoints"), *progress, os.Stdout
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		cli.Fatal(err)
	}
	encDir := filepath.Join(runDir, "encoder")
	if err := pre.SaveEncoder(encDir); err != nil {
		cli.Fatal(err)
	}
	fmt.Printf("%d steps; encoder saved in %s\nevaluate it with: go run ./examples/evaluate -encoder-dir %s\n", pre.Steps, encDir, encDir)
}
