// Command bench times one SimCLR training step — ResNet-18 with the small-image stem on
// both views of a batch of random single-channel images, the 512-512-128 projection head,
// NT-Xent at temperature 0.5, Adam — and compares it with the same step in PyTorch, run by
// ../shared/bench/peer_simclr_resnet18.py in the same invocation (machines are shared and
// noisy: only the ratio of two measurements taken together means anything).
//
//	go run ./examples/bench -batch 128 -size 28 -steps 3 -warmup 2
//
// It prints pairs/s (and images/s, two per pair) as the peer does, with the backend name.
package main

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

var (
	flagBatch   = flag.Int("batch", 128, "images per view (pairs per step)")
	flagSize    = flag.Int("size", 28, "image side in pixels")
	flagSteps   = flag.Int("steps", 3, "timed training steps")
	flagWarmup  = flag.Int("warmup", 2, "untimed steps first (the first one compiles the graph)")
	flagPeer    = flag.Bool("peer", true, "also run the PyTorch peer script and print the ratio")
	flagPeerPy  = flag.String("peer_script", "", "path of peer_simclr_resnet18.py (default: found in ../shared/bench)")
	flagPython  = flag.String("python", "/usr/bin/python3", "python interpreter with torch for the peer")
	flagCPUProf = flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	flagTemp    = flag.Float64("temperature", 0.5, "NT-Xent temperature")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	b, s := *flagBatch, *flagSize
	if b < 2 || s < 8 || *flagSteps < 1 || *flagWarmup < 0 {
		return fmt.Errorf("need -batch >= 2, -size >= 8, -steps >= 1, -warmup >= 0")
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	encoder := models.ResNetConfig{Depth: 18, Stem: models.SmallImageStem}
	// The library's own SimCLR, as Pretrain runs it, with the peer's projection 512-512-128; augmentation is left out, as in the peer.
	method := &ssl.SimCLR{Temperature: *flagTemp, ProjectionHidden: 512, ProjectionDim: 128}
	modelFn := func(scope *model.Scope, inputs []*graph.Node) []*graph.Node {
		loss := method.Loss(scope, encoder, inputs)
		train.AddMainLoss(loss)
		return []*graph.Node{loss}
	}
	opt := optimizer.Adam().LearningRate(1e-3).Done()
	trainer := train.NewTrainer(backend, store, modelFn, nil, opt, nil, nil)

	rng := rand.New(rand.NewPCG(1, 2))
	images := func() *tensors.Tensor {
		data := make([]float32, b*s*s)
		for i := range data {
			data[i] = rng.Float32()
		}
		return tensors.FromFlatDataAndDimensions(data, b, s, s, 1)
	}
	x1, x2 := images(), images()
	step := func() (float32, error) {
		metrics, err := trainer.TrainStep(train.Batch{Inputs: []*tensors.Tensor{x1, x2}})
		if err != nil {
			return 0, err
		}
		return tensors.ToScalar[float32](metrics[0]), nil
	}
	fmt.Printf("medssl bench: SimCLR step, ResNet-18 small stem, B=%d S=%d, backend %s\n", b, s, backend.Name())
	start := time.Now()
	for i := range *flagWarmup {
		loss, err := step()
		if err != nil {
			return err
		}
		fmt.Printf("  warmup step %d: loss %.4f (%.1fs)\n", i, loss, time.Since(start).Seconds())
		start = time.Now()
	}
	if *flagCPUProf != "" {
		f, err := os.Create(*flagCPUProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start = time.Now()
	var loss float32
	for range *flagSteps {
		if loss, err = step(); err != nil {
			return err
		}
	}
	elapsed := time.Since(start).Seconds()
	pairs := float64(*flagSteps*b) / elapsed
	fmt.Printf("medssl (gomlx %s) simclr resnet18-cifar B=%d S=%d: %.1f pairs/s (%.1f img/s), %.3f s/step, loss %.4f\n",
		backend.Name(), b, s, pairs, 2*pairs, elapsed/float64(*flagSteps), loss)
	if !*flagPeer {
		return nil
	}
	peer, err := runPeer(b, s)
	if err != nil {
		return err
	}
	fmt.Printf("ratio medssl/pytorch: %.3f\n", pairs/peer)
	return nil
}

// peerPairsRE reads the peer script's "<n> pairs/s".
var peerPairsRE = regexp.MustCompile(`([0-9.]+) pairs/s`)

// runPeer runs the PyTorch peer script and returns its pairs per second.
func runPeer(b, s int) (float64, error) {
	script := *flagPeerPy
	if script == "" {
		var err error
		if script, err = findPeerScript(); err != nil {
			return 0, err
		}
	}
	out, err := exec.Command(*flagPython, script, strconv.Itoa(b), strconv.Itoa(s)).CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		return 0, fmt.Errorf("peer %s: %w (is python3-torch installed? run with -peer=false to skip)", script, err)
	}
	m := peerPairsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("peer %s: no \"pairs/s\" in its output", script)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// findPeerScript looks for shared/bench/peer_simclr_resnet18.py beside the repository,
// walking up from the working directory.
func findPeerScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "shared", "bench", "peer_simclr_resnet18.py")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("peer script shared/bench/peer_simclr_resnet18.py not found above the working directory; set -peer_script")
		}
		dir = parent
	}
}
