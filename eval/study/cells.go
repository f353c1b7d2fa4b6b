package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// Cell is one point of a study's grid.
type Cell struct {
	Method    string  `json:"method"` // pretext method, or NoPretraining
	Arm       string  `json:"arm"`
	Fraction  float64 `json:"fraction"`
	Imbalance float64 `json:"imbalance"`
	Seed      int64   `json:"seed"`
}

// Label names the cell's arm in reports: "supervised", or "<method>+<arm>" such as
// "simclr+linear".
func (c Cell) Label() string {
	if c.Arm == ArmSupervised {
		return ArmSupervised
	}
	return c.Method + "+" + c.Arm
}

// Key identifies the cell within a study, e.g. "simclr+linear f=0.1 imb=1 seed=2".
func (c Cell) Key() string {
	return fmt.Sprintf("%s f=%s imb=%s seed=%d", c.Label(), fmtNum(c.Fraction), fmtNum(c.Imbalance), c.Seed)
}

// NeedsPretraining tells whether the cell reads a pretrained encoder.
func (c Cell) NeedsPretraining() bool { return c.Arm != ArmSupervised && c.Method != NoPretraining }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Cells lists the study's cells in the order Run computes them: seeds, then imbalance
// ratios, then label fractions, then the supervised arm followed by each method's arms.
// The order keeps a partial study useful (whole seeds finish first) and lets one
// pretraining serve the consecutive cells that need it.
func (c Config) Cells() ([]Cell, error) {
	if err := c.withDefaults(); err != nil {
		return nil, err
	}
	return c.cells(), nil
}

func (c *Config) cells() []Cell {
	var out []Cell
	want := map[string]bool{}
	for _, a := range c.Arms {
		want[a] = true
	}
	for _, seed := range c.Seeds {
		for _, imb := range c.Imbalances {
			for _, frac := range c.Fractions {
				if want[ArmSupervised] {
					out = append(out, Cell{Method: NoPretraining, Arm: ArmSupervised, Fraction: frac, Imbalance: imb, Seed: seed})
				}
				for _, m := range c.Methods {
					for _, a := range []string{ArmLinear, ArmKNN, ArmFineTune} {
						if !want[a] || (m == NoPretraining && a == ArmFineTune) {
							continue
						}
						out = append(out, Cell{Method: m, Arm: a, Fraction: frac, Imbalance: imb, Seed: seed})
					}
				}
			}
		}
	}
	return out
}

// fingerprint hashes every setting a cell's result depends on (besides the cell itself),
// so that results computed with other settings are never mistaken for this study's.
func (c *Config) fingerprint(cell Cell) string {
	s := map[string]any{}
	if cell.NeedsPretraining() {
		s["pretrain"] = c.pretrainSettings()
	}
	switch cell.Arm {
	case ArmSupervised:
		s["train"] = c.trainSettings(c.Train.Epochs)
	case ArmFineTune:
		s["train"] = c.trainSettings(c.FineTune.Epochs)
		s["finetune"] = []any{c.FineTune.EncoderLRMultiplier, c.FineTune.TrainableFrom}
	case ArmLinear:
		probe := []any{c.Probe.Epochs, c.Train.BatchSize, c.Train.Milestones, c.Probe.Grid}
		// An empty grid field takes Train's value (see supervised.LinearProbeSearch).
		if len(c.Probe.Grid.LearningRates) == 0 {
			probe = append(probe, "lr", c.Train.LearningRate)
		}
		if len(c.Probe.Grid.WeightDecays) == 0 {
			probe = append(probe, "wd", c.Train.WeightDecay)
		}
		s["probe"] = probe
	case ArmKNN:
		s["knn"] = []any{c.KNN.K, c.KNN.Temperature, c.KNN.Distance.String(), c.KNN.Ks}
	}
	s["bootstrap"] = c.BootstrapReps // the stored test-AUC interval depends on it
	return c.hashSettings(s)
}

// hashSettings adds the dataset and encoder to s and returns a short hash of it all.
func (c *Config) hashSettings(s map[string]any) string {
	ds := c.Dataset
	s["dataset"] = []any{ds.Name, ds.Train.N, ds.Val.N, ds.Test.N, ds.NumClasses}
	s["encoder"] = []any{c.Encoder.Name(), c.Encoder.FeatureDim()}
	b, _ := json.Marshal(s) // maps marshal with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

func (c *Config) pretrainSettings() []any {
	p := c.Pretrain
	return []any{p.Epochs, p.Steps, p.BatchSize, p.LearningRate, p.WeightDecay, p.AugmentName}
}

func (c *Config) trainSettings(epochs int) []any {
	t := c.Train
	return []any{epochs, t.BatchSize, t.LearningRate, t.WeightDecay, t.Milestones, c.TrainAugmentName}
}
