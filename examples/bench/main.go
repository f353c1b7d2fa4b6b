// Command bench times one pretraining step of a medssl method on an encoder — the graph
// ssl.Pretrain builds (method.Loss on the views, Adam), on random single-channel images,
// without augmentation — and compares it with the same step in PyTorch, run by a peer
// script in the same invocation (machines are shared and noisy: only the ratio of two
// measurements taken together means anything).
//
//	go run ./examples/bench -encoder resnet18 -method simclr    # ../shared/bench/peer_simclr_resnet18.py
//	go run ./examples/bench -encoder vit-tiny -method simclr    # ../shared/bench/peer_simclr_vit_tiny.py
//	go run ./examples/bench -encoder vit-tiny -method mae       # examples/bench/peers/peer_mae_vit_tiny.py
//	go run ./examples/bench -encoder vit-tiny -method byol      # examples/bench/peers/peer_byol_vit_tiny.py
//
// Encoders: resnet18 (small-image stem) and vit-tiny (ViT-Ti, patch 4). SimCLR uses the
// peers' projection F-512-128 (no batch norm) and temperature 0.5; other methods (any name
// in ssl.Names()) their defaults. It prints samples/s (images per view per second: pairs/s
// for two-view methods), the seconds per step, and the ratio of the peer's time per step
// to medssl's (above 1: medssl is faster).
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
	"strings"
	"syscall"
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
	flagEncoder = flag.String("encoder", "resnet18", "encoder: resnet18 (small stem) or vit-tiny (patch 4)")
	flagMethod  = flag.String("method", "simclr", "pretext method, one of ssl.Names()")
	flagBatch   = flag.Int("batch", 128, "images per view")
	flagSize    = flag.Int("size", 28, "image side in pixels")
	flagSteps   = flag.Int("steps", 3, "timed training steps")
	flagWarmup  = flag.Int("warmup", 2, "untimed steps first (the first one compiles the graph)")
	flagPeer    = flag.Bool("peer", true, "also run the PyTorch peer script and print the ratio")
	flagPeerPy  = flag.String("peer_script", "", "path of the peer script (default: chosen from -encoder and -method)")
	flagPython  = flag.String("python", "/usr/bin/python3", "python interpreter with torch for the peer")
	flagCPUProf = flag.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	flagTemp    = flag.Float64("temperature", 0.5, "SimCLR's NT-Xent temperature")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// encoderFor returns the encoder a -encoder value names.
func encoderFor(name string) (models.Encoder, error) {
	switch name {
	case "resnet18":
		return models.ResNetConfig{Depth: 18, Stem: models.SmallImageStem}, nil
	case "vit-tiny":
		return models.ViTTiny(4), nil
	}
	return nil, fmt.Errorf("unknown -encoder %q (want resnet18 or vit-tiny)", name)
}

// methodFor returns the method a -method value names, with SimCLR's head set to the peers'.
func methodFor(name string) (ssl.Method, error) {
	m, err := ssl.New(name)
	if err != nil {
		return nil, err
	}
	if s, ok := m.(*ssl.SimCLR); ok {
		s.Temperature, s.ProjectionHidden, s.ProjectionDim = *flagTemp, 512, 128
	}
	return m, nil
}

// peerScripts maps "<encoder>/<method>" to its peer script: a path under the shared
// benchmark directory ("shared/bench/...") or under this command's directory ("peers/...").
var peerScripts = map[string]string{
	"resnet18/simclr": "shared/bench/peer_simclr_resnet18.py",
	"vit-tiny/simclr": "shared/bench/peer_simclr_vit_tiny.py",
	"vit-tiny/mae":    "examples/bench/peers/peer_mae_vit_tiny.py",
	"vit-tiny/byol":   "examples/bench/peers/peer_byol_vit_tiny.py",
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
	encoder, err := encoderFor(*flagEncoder)
	if err != nil {
		return err
	}
	method, err := methodFor(*flagMethod)
	if err != nil {
		return err
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	store.SetParam(ssl.ParamTotalSteps, *flagWarmup+*flagSteps)
	// The method's loss as Pretrain builds it; augmentation is left out, as in the peers.
	modelFn := func(scope *model.Scope, inputs []*graph.Node) []*graph.Node {
		loss := method.Loss(scope, encoder, inputs)
		train.AddMainLoss(loss)
		return []*graph.Node{loss}
	}
	opt := optimizer.Adam().LearningRate(1e-3).Done()
	trainer := train.NewTrainer(backend, store, modelFn, nil, opt, nil, nil)

	rng := rand.New(rand.NewPCG(1, 2))
	views := make([]*tensors.Tensor, method.Views())
	for i := range views {
		data := make([]float32, b*s*s)
		for j := range data {
			data[j] = rng.Float32()
		}
		views[i] = tensors.FromFlatDataAndDimensions(data, b, s, s, 1)
	}
	step := func() (float32, error) {
		metrics, err := trainer.TrainStep(train.Batch{Inputs: views})
		if err != nil {
			return 0, err
		}
		return tensors.ToScalar[float32](metrics[0]), nil
	}
	fmt.Printf("medssl bench: %s step, %s, B=%d S=%d, %d view(s), backend %s\n",
		method.Name(), encoder.Name(), b, s, len(views), backend.Name())
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
		defer pprof.StopCPUProfile() // on errors; a no-op after the explicit stop below
	}
	start, cpuStart := time.Now(), cpuTime()
	var loss float32
	for range *flagSteps {
		if loss, err = step(); err != nil {
			return err
		}
	}
	if *flagCPUProf != "" {
		pprof.StopCPUProfile() // the timed steps only, not the peer
	}
	perStep := time.Since(start).Seconds() / float64(*flagSteps)
	cpuPerStep := (cpuTime() - cpuStart).Seconds() / float64(*flagSteps)
	fmt.Printf("medssl (gomlx %s) %s %s B=%d S=%d: %.1f samples/s, %.3f s/step (%.2f CPU-s/step), loss %.4f\n",
		backend.Name(), method.Name(), encoder.Name(), b, s, float64(b)/perStep, perStep, cpuPerStep, loss)
	if !*flagPeer {
		return nil
	}
	peerStep, err := runPeer(*flagEncoder+"/"+method.Name(), b, s)
	if err != nil {
		return err
	}
	fmt.Printf("ratio medssl/pytorch (throughput): %.3f\n", peerStep/perStep)
	return nil
}

// cpuTime is the process's user+system CPU time: on a shared machine it shows how much of
// the wall time the step really had the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peerStepRE reads the peer script's "<seconds> s/step".
var peerStepRE = regexp.MustCompile(`([0-9.]+) s/step`)

// runPeer runs the PyTorch peer script of key and returns its seconds per step.
func runPeer(key string, b, s int) (float64, error) {
	script := *flagPeerPy
	if script == "" {
		rel, ok := peerScripts[key]
		if !ok {
			return 0, fmt.Errorf("no PyTorch peer for %s; run with -peer=false", key)
		}
		var err error
		if script, err = findPeerScript(rel); err != nil {
			return 0, err
		}
	}
	out, err := exec.Command(*flagPython, script, strconv.Itoa(b), strconv.Itoa(s)).CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		return 0, fmt.Errorf("peer %s: %w (is python3-torch installed? run with -peer=false to skip)", script, err)
	}
	m := peerStepRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("peer %s: no \"s/step\" in its output", script)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// findPeerScript looks for rel ("shared/bench/x.py" beside the repository, or
// "examples/bench/peers/x.py" inside it), walking up from the working directory.
func findPeerScript(rel string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidates := []string{filepath.Join(dir, rel)}
		if strings.HasPrefix(rel, "examples/") {
			candidates = append(candidates, filepath.Join(dir, "main", rel))
		}
		for _, p := range candidates {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("peer script " + rel + " not found above the working directory; set -peer_script")
		}
		dir = parent
	}
}
