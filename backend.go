// Package medssl is the root of the medssl library: self-supervised representation
// learning on medical images, built on GoMLX.
//
// The sub-packages do the work (data, augment, models, ssl, supervised, eval); this
// package only chooses the compute backend they all run on.
package medssl

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // the pure-Go backend, always available
	"github.com/gomlx/go-xla/compute/xla"
	_ "github.com/gomlx/go-xla/compute/xla/autoinstall" // installs PJRT plugins, only when XLA is asked for explicitly
	"github.com/gomlx/go-xla/pjrt"
)

// BackendEnvVar is the environment variable that selects the backend, as in GoMLX:
// "go", "xla:cpu", "xla:cuda", "onnx:/path/libonnxruntime.so.1" (onnx needs -tags onnx).
const BackendEnvVar = compute.ConfigEnvVar

var (
	backendOnce sync.Once
	backendVal  compute.Backend
	backendErr  error
	// BackendLog receives the one line that says which backend runs. Set it to io.Discard to silence it.
	BackendLog io.Writer = os.Stderr
)

// Backend returns the process-wide compute backend, created on first use.
//
// Selection, in order:
//  1. $GOMLX_BACKEND, if set, exactly as GoMLX reads it. Asking for "xla" there lets go-xla
//     download its PJRT plugin when it is missing (that needs network access).
//  2. XLA, if a PJRT plugin ("cuda" first, then "cpu") is already installed on this machine.
//     Nothing is downloaded: without network that would hang or fail.
//  3. The pure-Go backend ("go"), which always works, with options chosen for this machine
//     (GoBackendOptions).
//
// It prints one line to BackendLog naming the backend and, when XLA is not used, how to enable it.
func Backend() (compute.Backend, error) {
	backendOnce.Do(func() {
		backendVal, backendErr = newBackend()
	})
	return backendVal, backendErr
}

// MustBackend is Backend that panics on error, for examples and tests.
func MustBackend() compute.Backend {
	b, err := Backend()
	if err != nil {
		panic(err)
	}
	return b
}

func newBackend() (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("medssl: creating backend: %v", r)
		}
	}()
	guardSIMDOverread()
	if config, ok := os.LookupEnv(BackendEnvVar); ok && config != "" {
		b, err = compute.NewWithConfig(config)
		if err != nil {
			return nil, fmt.Errorf("medssl: backend %s=%q: %w", BackendEnvVar, config, err)
		}
		fmt.Fprintf(BackendLog, "medssl: backend %s (from %s)\n", b.Name(), BackendEnvVar)
		return b, nil
	}
	if plugin := installedXLAPlugin(); plugin != "" {
		xla.EnableAutoInstall(false)
		b, err = compute.NewWithConfig("xla:" + plugin)
		if err == nil {
			fmt.Fprintf(BackendLog, "medssl: backend xla:%s (installed PJRT plugin)\n", plugin)
			return b, nil
		}
		fmt.Fprintf(BackendLog, "medssl: installed XLA plugin %q failed (%v); falling back to go\n", plugin, err)
	}
	opts := GoBackendOptions(runtime.NumCPU())
	b, err = compute.NewWithConfig("go:" + opts)
	if err != nil {
		return nil, fmt.Errorf("medssl: go backend (%s): %w", opts, err)
	}
	fmt.Fprintf(BackendLog, "medssl: backend go:%s (pure Go%s, chosen for %d CPUs; %s=go:... overrides); for XLA on CPU/GPU set %s=xla:cpu or xla:cuda on a machine with network once, to install the PJRT plugin\n",
		opts, simdNote(), runtime.NumCPU(), BackendEnvVar, BackendEnvVar)
	return b, nil
}

// GoBackendOptions returns the pure-Go backend's options Backend uses on a machine with
// cpus CPUs. The backend runs a graph's ready ops on NumExecutors goroutines, and the ops
// themselves (matrix products, transposes, convolutions' gathers) fan out to a worker pool
// that admits "parallelism" tasks at once. Its defaults (8 executors, parallelism
// 2·GOMAXPROCS) let the executors hold most of the pool, so the large ops' fan-outs get
// one worker and about one core is busy; one executor per CPU and a pool of 4 per CPU keep
// every core busy inside the large ops. Measured on 2 cores (README, "Speed").
//
// ops_parallel keeps the executors when several graphs run at once (a study's Workers):
// by default the backend then runs each graph's ops one at a time, and two concurrent
// trainings were slower together (the main job in 8 min 28 s) than one after the other
// (8 min 18 s); with it, 7 min 36 s and 7 min 58 s (two runs). A single graph runs as
// before.
func GoBackendOptions(cpus int) string {
	cpus = max(cpus, 1)
	return fmt.Sprintf("parallelism=%d,num_executors=%d,ops_parallel", 4*cpus, cpus)
}

// installedXLAPlugin returns the name of an already installed PJRT plugin, preferring GPUs.
func installedXLAPlugin() string {
	plugins := pjrt.AvailablePlugins()
	for _, want := range []string{"cuda", "rocm", "cpu"} {
		for name := range plugins {
			if name == want || strings.HasPrefix(name, want+"_v") {
				return name
			}
		}
	}
	return ""
}
