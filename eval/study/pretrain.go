package study

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/ssl"
)

// PretrainDir is the folder, under a study's OutDir, holding one folder per pretraining.
const PretrainDir = "pretrain"

// LossFile is the file, in each pretraining's folder, holding its loss curve.
const LossFile = "loss.json"

// Pretraining describes one pretraining of a study and its loss curve.
type Pretraining struct {
	Name      string  `json:"name"` // its folder under OutDir/pretrain
	Method    string  `json:"method"`
	Pool      string  `json:"pool,omitempty"` // empty: the cells' own training images
	Imbalance float64 `json:"imbalance"`
	Seed      int64   `json:"seed"`
	Fold      int     `json:"fold,omitempty"`
	Steps     int     `json:"steps"`
	// Loss[i] is the pretext loss of step i+1; NaN (null in JSON) for steps whose loss was
	// lost because the process was killed between two checkpoints.
	Loss    []float64 `json:"-"`
	Seconds float64   `json:"seconds"` // wall time summed over the calls that trained it
	// Collapse holds the representation-collapse measurements (once per epoch), in step
	// order; a resumed pretraining adds the ones of the steps it ran.
	Collapse []ssl.Collapse `json:"collapse,omitempty"`
	// Scores are the monitors' measurements (the kNN validation AUC), in step order.
	Scores []ssl.Score `json:"scores,omitempty"`
}

// title names the pretraining in figures: "simclr seed 1", "simclr@pool seed 2",
// "simclr seed 1 imbalance 10:1 fold 3".
func (p Pretraining) title() string {
	name := p.Method
	if p.Pool != "" {
		name += "@" + p.Pool
	}
	name += fmt.Sprintf(" seed %d", p.Seed)
	if p.Imbalance != 1 {
		name += fmt.Sprintf(" imbalance %s:1", fmtNum(p.Imbalance))
	}
	if p.Fold > 0 {
		name += fmt.Sprintf(" fold %d", p.Fold)
	}
	return name
}

type jsonPretraining struct {
	*pretrainingAlias
	Loss []num `json:"loss"`
}

type pretrainingAlias Pretraining

// pretrain runs (or resumes, or just loads) the pretraining cell needs (its method and seed,
// on its pool or on its own training images), checkpointed under OutDir/pretrain/<name>,
// and records its loss curve there.
func (c *Config) pretrain(s *settings, cell Cell) (*model.Store, *Pretraining, error) {
	method, err := ssl.New(cell.Method)
	if err != nil {
		return nil, nil, fmt.Errorf("study: %w", err)
	}
	// The kNN monitor watches with the cell's training labels and validation split; a pool
	// pretraining serves every fold and imbalance, so it is watched on the first fold's
	// (or the fixed) split as it is.
	watch := cell
	if cell.Pool != "" {
		watch.Imbalance, watch.Fraction = 1, 1
		if c.Folds > 0 {
			watch.Fold = 1
		}
	}
	var images data.Source
	var train, val *data.Split
	if c.segmentation() {
		if images, err = c.segPretrainImages(); err != nil {
			return nil, nil, err
		}
	} else {
		if train, _, val, err = c.splits(watch); err != nil {
			return nil, nil, err
		}
		images = train
	}
	if cell.Pool != "" {
		pool, ok := c.pool(cell.Pool)
		if !ok {
			return nil, nil, fmt.Errorf("study: %s: no pool named %q", cell.Key(), cell.Pool)
		}
		images = pool.Source
	}
	name := c.pretrainKey(s, cell)
	dir := filepath.Join(c.OutDir, PretrainDir, name)
	rec, err := readPretraining(filepath.Join(dir, LossFile))
	if err != nil {
		return nil, nil, err
	}
	if rec == nil {
		rec = &Pretraining{Name: name, Method: cell.Method, Pool: cell.Pool, Imbalance: cell.Imbalance, Seed: cell.Seed, Fold: cell.Fold}
		if cell.Pool != "" {
			rec.Imbalance, rec.Fold = 1, 0
		}
	}
	t0 := time.Now()
	p, err := c.pretrainConfig(method)
	if err != nil {
		return nil, nil, err
	}
	p.Seed, p.CheckpointDir = cell.Seed, dir
	if c.KNNMonitor && !c.segmentation() { // a kNN watches class labels; masks are no classes
		p.Monitors = []ssl.Monitor{eval.KNNMonitor{Train: train, Val: val, Config: c.Protocols.KNN}}
	}
	pre, err := ssl.Pretrain(images, p)
	if err != nil {
		return nil, nil, fmt.Errorf("study: pretraining %s: %w", name, err)
	}
	if len(pre.Loss) > 0 {
		// The call ran steps Steps-len(Loss)+1 … Steps.
		start := pre.Steps - len(pre.Loss)
		for len(rec.Loss) < pre.Steps {
			rec.Loss = append(rec.Loss, math.NaN())
		}
		copy(rec.Loss[start:], pre.Loss)
		rec.Seconds += time.Since(t0).Seconds()
		for _, m := range pre.Collapse {
			if n := len(rec.Collapse); n == 0 || rec.Collapse[n-1].Step < m.Step {
				rec.Collapse = append(rec.Collapse, m)
			}
		}
		for _, s := range pre.Scores {
			if n := len(rec.Scores); n == 0 || rec.Scores[n-1].Step < s.Step || rec.Scores[n-1].Name != s.Name {
				rec.Scores = append(rec.Scores, s)
			}
		}
	}
	rec.Steps = pre.Steps
	if err := writePretraining(filepath.Join(dir, LossFile), rec); err != nil {
		return nil, nil, err
	}
	return pre.Store, rec, nil
}

func readPretraining(path string) (*Pretraining, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	rec := &Pretraining{}
	j := jsonPretraining{pretrainingAlias: (*pretrainingAlias)(rec)}
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("study: %s: %w", path, err)
	}
	rec.Loss = fromNums(j.Loss)
	return rec, nil
}

func writePretraining(path string, rec *Pretraining) error {
	b, err := json.Marshal(jsonPretraining{pretrainingAlias: (*pretrainingAlias)(rec), Loss: toNums(rec.Loss)})
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	return nil
}

// ReadPretrainings reads the loss curves of every pretraining under outDir/pretrain.
func ReadPretrainings(outDir string) ([]Pretraining, error) {
	matches, err := filepath.Glob(filepath.Join(outDir, PretrainDir, "*", LossFile))
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	var out []Pretraining
	for _, m := range matches {
		rec, err := readPretraining(m)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			out = append(out, *rec)
		}
	}
	return out, nil
}
