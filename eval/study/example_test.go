package study_test

import (
	"context"
	"fmt"
	"os"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/models"
)

// The grid of a study: the supervised baseline, then each method's arms, for every label
// fraction and seed. Method "none" evaluates a randomly initialised encoder.
func ExampleConfig_Cells() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	cfg := study.DefaultConfig()
	cfg.Dataset, cfg.Backend, cfg.OutDir = ds, medssl.MustBackend(), "out"
	cfg.Methods = []string{"simclr", study.NoPretraining}
	cfg.Arms = []eval.Arm{eval.ArmSupervised, eval.ArmLinear, eval.ArmFineTune}
	cfg.Fractions, cfg.Seeds = []float64{0.1, 1}, []int64{1}
	cells, err := cfg.Cells()
	if err != nil {
		panic(err)
	}
	for _, c := range cells {
		fmt.Println(c.Key())
	}
	// Output:
	// supervised f=0.1 imb=1 seed=1
	// simclr+linear f=0.1 imb=1 seed=1
	// simclr+finetune f=0.1 imb=1 seed=1
	// none+linear f=0.1 imb=1 seed=1
	// supervised f=1 imb=1 seed=1
	// simclr+linear f=1 imb=1 seed=1
	// simclr+finetune f=1 imb=1 seed=1
	// none+linear f=1 imb=1 seed=1
}

// A whole study, resumable: run it again with the same OutDir and only unfinished cells
// are computed. (Tiny settings; real studies train for far longer.)
func ExampleRun() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	out, err := os.MkdirTemp("", "study")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(out)
	cfg := study.DefaultConfig()
	cfg.Dataset, cfg.Backend, cfg.Encoder, cfg.OutDir = ds, medssl.MustBackend(), models.ResNetFor(18, 28).Width(4), out
	cfg.Arms, cfg.Fractions, cfg.Seeds = []eval.Arm{eval.ArmSupervised, eval.ArmKNN}, []float64{1}, []int64{1, 2}
	cfg.Pretrain.Steps, cfg.Protocols.Train.Epochs = 2, 1
	cfg.Progress = nil // silent
	st, err := study.Run(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	again, err := study.Run(context.Background(), cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(st.Results), "cells computed, then", again.Computed, "recomputed")
	// Write report.md, cells.csv and cells.json into out.
	if err := again.WriteFiles(study.MarkdownOptions{}); err != nil {
		panic(err)
	}
	// Output: 4 cells computed, then 0 recomputed
}
