package ssl_test

import (
	"fmt"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// DINO with multi-crop on BreastMNIST: two global 28 px views and two local 12 px views;
// the teacher is a momentum copy of the student that only sees the global views.
func ExampleNewDINO() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	m := ssl.NewDINO()
	m.LocalCrops = 2    // the default is 6; fewer keeps the example quick
	m.Prototypes = 1024 // fewer prototypes than the default 4096 for 546 images
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = medssl.MustBackend(), models.ResNetFor(18, ds.Train.Height).Width(8), m
	cfg.Steps, cfg.BatchSize, cfg.Seed = 1, 16, 1
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		panic(err)
	}
	fmt.Println(pre.Method, m.Views(), pre.Steps)
	// Output: dino 4 1
}

// MoCo v2 on a small dataset: the queue of negatives must stay well below the number of
// images (BreastMNIST has 546 training images), or it holds old keys of the batch's own
// images.
func ExampleNewMoCoV2() {
	ds, err := data.BreastMNIST()
	if err != nil {
		panic(err)
	}
	m := ssl.NewMoCoV2()
	m.QueueSize = 256
	m.Momentum = 0.99 // few steps per epoch: let the key encoder follow faster
	cfg := ssl.DefaultPretrainConfig()
	cfg.Backend, cfg.Encoder, cfg.Method = medssl.MustBackend(), models.ResNetFor(18, ds.Train.Height).Width(8), m
	cfg.Steps, cfg.BatchSize, cfg.Seed = 1, 32, 1
	pre, err := ssl.Pretrain(ds.Train, cfg)
	if err != nil {
		panic(err)
	}
	queue := pre.Store.GetVariable("/ssl/moco-v2/queue")
	fmt.Println(pre.Method, queue.Shape().Dimensions)
	// Output: moco-v2 [256 128]
}
