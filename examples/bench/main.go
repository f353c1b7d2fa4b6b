// Command bench times one pretraining step of a medssl method — the graph ssl.Pretrain
// builds (method.Loss on the views, the optimiser of ssl.RecipeAdam), on random
// single-channel images, without augmentation — and, for SimCLR, the same step in PyTorch,
// for every encoder and image size asked for. Each run is its own process, so the table
// gives each framework's throughput, CPU time and peak resident memory, and their ratios.
// Machines are shared and noisy: only ratios measured in one invocation mean anything.
//
//	go run ./examples/bench                                      # ResNet-18 and ViT-Tiny at 28 px
//	go run ./examples/bench -encoders resnet18,resnet34,resnet50,vit-tiny,vit-small -sizes 28,64,128
//	go run ./examples/bench -method byol -peer=false             # any method, medssl only
//
// Encoders: resnet18|34|50 (models.ResNetFor: the small-image stem up to 64 px) and
// vit-tiny|vit-small with patch 4 at 28 px, 8 at 64 px and 16 at 128 px (size/7 rounded to a
// power of two). The peer is examples/bench/peers/peer_simclr.py (PyTorch with 2 threads);
// it needs Debian's python3-torch and python3-torchvision.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/models/optim"
	"github.com/medssl/medssl/ssl"
)

var (
	flagEncoders = flag.String("encoders", "resnet18,vit-tiny", "comma-separated encoders: resnet18, resnet34, resnet50, vit-tiny, vit-small")
	flagSizes    = flag.String("sizes", "28", "comma-separated image sides in pixels (28, 64, 128)")
	flagMethod   = flag.String("method", "simclr", "pretext method, one of ssl.Names() (PyTorch peer: simclr only)")
	flagBatch    = flag.Int("batch", 128, "images per view")
	flagSteps    = flag.Int("steps", 3, "timed training steps")
	flagWarmup   = flag.Int("warmup", 2, "untimed steps first (the first one compiles the graph)")
	flagPeer     = flag.Bool("peer", true, "also run the PyTorch peer and print the ratios")
	flagPython   = flag.String("python", "/usr/bin/python3", "python interpreter with torch and torchvision for the peer")
	flagCPUProf  = flag.String("cpuprofile", "", "write a CPU profile of medssl's timed steps to this file (one encoder and size)")
	flagChild    = flag.Bool("child", false, "internal: run one medssl measurement and print it as JSON")
	flagEncoder  = flag.String("encoder", "resnet18", "internal (-child): the encoder")
	flagSize     = flag.Int("size", 28, "internal (-child): the image side")
)

// result is one framework's measurement of one configuration.
type result struct {
	SamplesPerS float64 `json:"samples_per_s"`
	SPerStep    float64 `json:"s_per_step"`
	CPUPerStep  float64 `json:"cpu_s_per_step"`
	Loss        float64 `json:"loss"`
	PeakRSSMB   float64 `json:"-"`
}

func main() {
	flag.Parse()
	var err error
	if *flagChild {
		err = child()
	} else {
		err = parent()
	}
	if err != nil {
		cli.Fatal(err)
	}
}

// patchFor is the ViT patch for an image side: 4 at 28 px, 8 at 64, 16 at 128.
func patchFor(size int) int {
	p := 4
	for p*7*2 <= size {
		p *= 2
	}
	return p
}

// encoderFor returns the encoder a -encoders entry names at an image size.
func encoderFor(name string, size int) (models.Encoder, error) {
	switch name {
	case "resnet18", "resnet34", "resnet50":
		var depth int
		fmt.Sscanf(name, "resnet%d", &depth)
		return models.ResNetFor(depth, size), nil
	case "vit-tiny":
		return models.ViTTiny(patchFor(size)), nil
	case "vit-small":
		return models.ViTSmall(patchFor(size)), nil
	}
	return nil, fmt.Errorf("unknown encoder %q (want resnet18, resnet34, resnet50, vit-tiny or vit-small)", name)
}

func parent() error {
	sizes, err := cli.Floats("sizes", *flagSizes)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	peer, err := findPeer()
	if err != nil && *flagPeer {
		return err
	}
	fmt.Printf("medssl bench: %s step, batch %d per view, %d warm-up and %d timed steps; %d CPUs, %s; go backend options %q unless %s is set\n\n",
		*flagMethod, *flagBatch, *flagWarmup, *flagSteps, runtime.NumCPU(), cpuName(), medssl.GoBackendOptions(runtime.NumCPU()), medssl.BackendEnvVar)
	fmt.Println("| encoder | size | medssl samples/s | s/step | CPU-s/step | peak RSS | PyTorch samples/s | s/step | peak RSS | speed ratio | memory ratio |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, enc := range cli.List(*flagEncoders) {
		for _, s := range sizes {
			size := int(s)
			if _, err := encoderFor(enc, size); err != nil {
				return err
			}
			args := []string{"-child", "-encoder", enc, "-size", fmt.Sprint(size), "-method", *flagMethod,
				"-batch", fmt.Sprint(*flagBatch), "-steps", fmt.Sprint(*flagSteps), "-warmup", fmt.Sprint(*flagWarmup)}
			if *flagCPUProf != "" {
				args = append(args, "-cpuprofile", *flagCPUProf)
			}
			ours, err := measure(exe, args...)
			if err != nil {
				return fmt.Errorf("medssl %s at %d px: %w", enc, size, err)
			}
			row := fmt.Sprintf("| %s | %d | %.1f | %.3f | %.2f | %.0f MB |", enc, size, ours.SamplesPerS, ours.SPerStep, ours.CPUPerStep, ours.PeakRSSMB)
			if *flagPeer && *flagMethod == "simclr" {
				theirs, err := measure(*flagPython, peer, "--encoder", enc, "--size", fmt.Sprint(size), "--batch", fmt.Sprint(*flagBatch),
					"--patch", fmt.Sprint(patchFor(size)), "--steps", fmt.Sprint(*flagSteps), "--warmup", fmt.Sprint(*flagWarmup))
				if err != nil {
					return fmt.Errorf("PyTorch peer %s at %d px: %w (is python3-torch installed? -peer=false skips it)", enc, size, err)
				}
				row += fmt.Sprintf(" %.1f | %.3f | %.0f MB | **%.2f** | %.2f |", theirs.SamplesPerS, theirs.SPerStep, theirs.PeakRSSMB,
					ours.SamplesPerS/theirs.SamplesPerS, ours.PeakRSSMB/theirs.PeakRSSMB)
			} else {
				row += " – | – | – | – | – |"
			}
			fmt.Println(row)
		}
	}
	return nil
}

// measure runs one measuring process and returns its JSON result and peak resident memory.
func measure(name string, args ...string) (result, error) {
	var r result
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("%v\n%s", err, out.String())
	}
	sc := bufio.NewScanner(&out)
	found := false
	for sc.Scan() {
		if line := sc.Bytes(); len(line) > 0 && line[0] == '{' {
			if err := json.Unmarshal(line, &r); err != nil {
				return r, err
			}
			found = true
		}
	}
	if !found {
		return r, errors.New("no JSON result in its output")
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSMB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
	}
	return r, nil
}

// child builds and times medssl's step for one encoder and size, and prints the result.
func child() error {
	backend, err := medssl.Backend()
	if err != nil {
		return err
	}
	b, s := *flagBatch, *flagSize
	if b < 2 || s < 8 || *flagSteps < 1 || *flagWarmup < 0 {
		return fmt.Errorf("need -batch >= 2, -size >= 8, -steps >= 1, -warmup >= 0")
	}
	encoder, err := encoderFor(*flagEncoder, s)
	if err != nil {
		return err
	}
	method, err := ssl.New(*flagMethod)
	if err != nil {
		return err
	}
	if m, ok := method.(*ssl.SimCLR); ok {
		m.Temperature = 0.5 // the peer's
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	total := *flagWarmup + *flagSteps
	store.SetParam(ssl.ParamTotalSteps, total)
	// The method's loss as Pretrain builds it; augmentation is left out, as in the peer.
	modelFn := func(scope *model.Scope, inputs []*graph.Node) []*graph.Node {
		loss := method.Loss(scope, encoder, inputs)
		train.AddMainLoss(loss)
		return []*graph.Node{loss}
	}
	recipe, err := ssl.RecipeAdam.For(method, encoder, b)
	if err != nil {
		return err
	}
	opt, err := optim.New(recipe, optim.Plan{StepsPerEpoch: 1, TotalSteps: total})
	if err != nil {
		return err
	}
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
	for range *flagWarmup {
		if _, err := step(); err != nil {
			return err
		}
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
	start, cpuStart := time.Now(), cpuTime()
	var loss float32
	for range *flagSteps {
		if loss, err = step(); err != nil {
			return err
		}
	}
	perStep := time.Since(start).Seconds() / float64(*flagSteps)
	r := result{SamplesPerS: float64(b) / perStep, SPerStep: perStep,
		CPUPerStep: (cpuTime() - cpuStart).Seconds() / float64(*flagSteps), Loss: float64(loss)}
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
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

// cpuName reads the processor's model name (Linux), for the table's header.
func cpuName() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// findPeer looks for examples/bench/peers/peer_simclr.py from the working directory up.
func findPeer() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		for _, rel := range []string{"examples/bench/peers/peer_simclr.py", "peers/peer_simclr.py"} {
			if p := filepath.Join(dir, rel); fileExists(p) {
				return p, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("examples/bench/peers/peer_simclr.py not found above the working directory (run from the repository)")
		}
		dir = parent
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
