// Command parity runs one SSL experiment twice, in medssl and in an independent PyTorch
// implementation, and prints both side by side: pretrain a method on a MedMNIST file's
// training images, then evaluate the frozen encoder with a linear probe (learning rate ×
// weight decay searched on validation AUC) and kNN, beside the same probes on the randomly
// initialised encoder (the floor), over several seeds.
//
//	go run ./examples/parity -method simclr -recipe solo -epochs 100 -seeds 3
//	go run ./examples/parity -method byol -recipe paper -epochs 30 -data ../shared/data/pneumoniamnist_imbalanced.npz
//
// The peers: ../shared/bench/peer_ssl_probe.py (SimCLR; recipes medssl = adam and solo) and
// examples/bench/peers/peer_byol_probe.py (BYOL; adam, paper, solo). Both mirror medssl's
// augmentations, ResNet-18 with the small-image stem, probe grid and kNN; their random
// streams are PyTorch's, so compare means over seeds, not runs seed by seed. Every run is
// kept in -out (medssl's as a resumable study, each peer run as a JSON file), so an
// interrupted comparison resumes. Runs are sequential: each uses both cores.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

// peerRecipe names medssl's recipes as the peer scripts do.
var peerRecipe = map[ssl.Recipe]string{ssl.RecipeAdam: "medssl", ssl.RecipePaper: "paper", ssl.RecipeSolo: "solo"}

// peerResult is the part of a peer's JSON line the table reads.
type peerResult struct {
	Seed            int64   `json:"seed"`
	PretrainSeconds float64 `json:"pretrain_seconds"`
	Linear          float64 `json:"linear_test_auc"`
	KNN             float64 `json:"knn_test_auc"`
	RandomLinear    float64 `json:"random_linear_test_auc"`
	RandomKNN       float64 `json:"random_knn_test_auc"`
}

func main() {
	dataPath := flag.String("data", "", "single-label MedMNIST .npz (default: the embedded BreastMNIST)")
	method := flag.String("method", "simclr", "simclr or byol (the methods with a peer)")
	recipeName := flag.String("recipe", "adam", "pretraining recipe: adam, paper or solo (ssl.Recipe)")
	epochs := flag.Int("epochs", 30, "pretraining epochs")
	width := flag.Int("width", 16, "ResNet-18 base width")
	seeds := flag.String("seeds", "3", "seeds: a number n means 1..n, or a comma-separated list")
	out := flag.String("out", "medssl-parity", "output folder (rerun with the same folder to resume)")
	python := flag.String("python", "/usr/bin/python3", "python interpreter with torch, numpy and scipy")
	peerOnly := flag.Bool("peer-only", false, "run only the peer")
	medsslOnly := flag.Bool("medssl-only", false, "run only medssl")
	flag.Parse()
	if err := run(*dataPath, *method, *recipeName, *epochs, *width, *seeds, *out, *python, *peerOnly, *medsslOnly); err != nil {
		cli.Fatal(err)
	}
}

func run(dataPath, method, recipeName string, epochs, width int, seedList, out, python string, peerOnly, medsslOnly bool) error {
	recipe, err := ssl.ParseRecipe(recipeName)
	if err != nil {
		return err
	}
	script, err := peerScript(method, recipe)
	if err != nil {
		return err
	}
	seeds, err := cli.Seeds(seedList)
	if err != nil {
		return err
	}
	ds, err := cli.Dataset(dataPath)
	if err != nil {
		return err
	}
	if dataPath == "" {
		dataPath = "data/embedded/breastmnist.npz"
	}
	name := fmt.Sprintf("%s-%s-%s-e%d-w%d", ds.Name, method, recipe, epochs, width)
	dir := filepath.Join(out, name)

	var ours *study.Study
	if !peerOnly {
		cfg := study.DefaultConfig()
		cfg.Dataset, cfg.OutDir = ds, filepath.Join(dir, "medssl")
		if cfg.Backend, err = medssl.Backend(); err != nil {
			return err
		}
		if cfg.Encoder, err = cli.Encoder("width", fmt.Sprintf("resnet18-w%d", width)); err != nil {
			return err
		}
		// The peers' experiment: pretraining on every training image, then the probe grid
		// lr {1e-3, 1e-2, 1e-1} × wd {0, 1e-4, 1e-3} and kNN with k 20, on all the labels.
		cfg.Methods, cfg.Arms, cfg.Fractions, cfg.Seeds = []string{method, study.NoPretraining}, []eval.Arm{eval.ArmLinear, eval.ArmKNN}, []float64{1}, seeds
		cfg.Remedies = []string{supervised.RemedyNone}
		cfg.Pretrain.Epochs, cfg.PretrainRecipe, cfg.KNNMonitor = epochs, recipe, false
		cfg.Protocols.Search = eval.Search{LRFactors: []float64{0.1, 1, 10}, WeightDecays: []float64{0, 1e-4, 1e-3}}
		cfg.Protocols.Probe.Optimizer.LearningRate = 1e-2
		// One pretraining at a time, as the peer runs: the table's seconds per run would
		// otherwise be those of two runs sharing the machine.
		cfg.Workers = 1
		fmt.Println(cfg.Describe())
		if ours, err = study.Run(context.Background(), cfg); err != nil {
			return err
		}
		if err := ours.WriteFiles(study.MarkdownOptions{PerCell: true}); err != nil {
			fmt.Println("parity:", err)
		}
	}
	var peers []peerResult
	if !medsslOnly {
		for _, seed := range seeds {
			p, err := runPeer(python, script, dataPath, recipe, epochs, width, seed, filepath.Join(dir, fmt.Sprintf("peer-seed%d.json", seed)))
			if err != nil {
				return err
			}
			peers = append(peers, p)
		}
	}
	fmt.Printf("\n%s: %s, recipe %s, %d epochs, ResNet-18 width %d, seeds %v (test AUC mean ± sd over seeds)\n\n", ds.Name, method, recipe, epochs, width, seeds)
	fmt.Println("| implementation | linear | kNN | random linear | random kNN | pretraining s/run |")
	fmt.Println("|---|---|---|---|---|---|")
	if ours != nil {
		fmt.Println(oursRow(ours, method))
	}
	if len(peers) > 0 {
		col := func(decimals int, f func(peerResult) float64) string {
			xs := make([]float64, len(peers))
			for i, p := range peers {
				xs[i] = f(p)
			}
			return meanSD(xs, decimals)
		}
		fmt.Printf("| PyTorch peer (%s) | %s | %s | %s | %s | %s |\n", filepath.Base(script),
			col(3, func(p peerResult) float64 { return p.Linear }), col(3, func(p peerResult) float64 { return p.KNN }),
			col(3, func(p peerResult) float64 { return p.RandomLinear }), col(3, func(p peerResult) float64 { return p.RandomKNN }),
			col(0, func(p peerResult) float64 { return p.PretrainSeconds }))
	}
	return nil
}

// peerScript returns the peer that implements method with recipe.
func peerScript(method string, recipe ssl.Recipe) (string, error) {
	switch {
	case method == "simclr" && recipe != ssl.RecipePaper:
		return filepath.Join("..", "shared", "bench", "peer_ssl_probe.py"), nil
	case method == "byol":
		return filepath.Join("examples", "bench", "peers", "peer_byol_probe.py"), nil
	}
	return "", fmt.Errorf("no PyTorch peer for %s with recipe %s (simclr: adam, solo; byol: adam, paper, solo)", method, recipe)
}

// runPeer runs the peer once (or reads the result file of an earlier run).
func runPeer(python, script, data string, recipe ssl.Recipe, epochs, width int, seed int64, file string) (peerResult, error) {
	var p peerResult
	if b, err := os.ReadFile(file); err == nil {
		return p, json.Unmarshal(b, &p)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return p, err
	}
	cmd := exec.Command(python, script, "--data", data, "--epochs", fmt.Sprint(epochs), "--recipe", peerRecipe[recipe],
		"--width", fmt.Sprint(width), "--seed", fmt.Sprint(seed), "--out", file)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Printf("peer: %s\n", strings.Join(cmd.Args, " "))
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return p, fmt.Errorf("peer %s seed %d failed (%v): is python3-torch installed?", script, seed, err)
		}
		return p, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(b, &p)
}

// oursRow is medssl's row of the table.
func oursRow(st *study.Study, method string) string {
	col := func(label string) string {
		var xs []float64
		for _, r := range st.Results {
			if r.Label == label {
				xs = append(xs, r.Metrics[metrics.MetricAUC])
			}
		}
		return meanSD(xs, 3)
	}
	var secs []float64
	for _, p := range st.Pretrainings {
		if p.Method == method {
			secs = append(secs, p.Seconds)
		}
	}
	return fmt.Sprintf("| medssl | %s | %s | %s | %s | %s |", col(method+"+linear"), col(method+"+knn"),
		col("none+linear"), col("none+knn"), meanSD(secs, 0))
}

// meanSD formats xs as "mean ± sd" with the given decimals (3 for AUCs, 0 for seconds: a
// timing on a shared machine has no meaningful millisecond).
func meanSD(xs []float64, decimals int) string {
	if len(xs) == 0 {
		return "–"
	}
	m, sd := metrics.MeanSD(xs)
	if math.IsNaN(sd) {
		return fmt.Sprintf("%.*f", decimals, m)
	}
	return fmt.Sprintf("%.*f ± %.*f", decimals, m, decimals, sd)
}
