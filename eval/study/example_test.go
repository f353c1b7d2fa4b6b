package study_test

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// The grid of a study: the supervised baseline, then each method's arms, for every label
// fraction and seed. Method "none" evaluates a randomly initialised encoder.
func ExampleConfig_Cells() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	cfg := study.Config{
		Dataset: ds, Backend: medssl.MustBackend(), Encoder: models.ResNetFor(18, 28).Width(16), OutDir: "out",
		Methods: []string{"simclr", study.NoPretraining}, Arms: []string{study.ArmSupervised, study.ArmLinear, study.ArmFineTune},
		Fractions: []float64{0.1, 1}, Seeds: []int64{1},
	}
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
	cfg := study.Config{
		Dataset: ds, Backend: medssl.MustBackend(), Encoder: models.ResNetFor(18, 28).Width(4), OutDir: out,
		Arms: []string{study.ArmSupervised, study.ArmKNN}, Seeds: []int64{1, 2},
		Pretrain: study.PretrainSettings{Steps: 2}, Train: supervised.Config{Epochs: 1},
		Progress: io.Discard,
	}
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
