package study

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/explain"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/segment"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/supervised"
)

// Segmentation makes a study a segmentation study: set it in place of Config.Dataset.
// The grid is the same (methods including NoPretraining, arms, label fractions, seeds)
// with the segmentation arms of eval/segment: ArmSupervised (a U-Net trained from scratch),
// ArmFineTune (the pretrained encoder fine-tuned with the decoder) and ArmFrozen (the
// pretrained encoder frozen, the decoder trained: the dense analogue of the linear probe).
// A label fraction counts labelled training volumes (seg.Set.LabelFraction), never slices;
// pretraining reads the slices of every training volume, without their masks. Every model
// is selected on the validation volumes' Dice only and scored on the test volumes in 3D
// (Dice, IoU, HD95 per class); Dice over the foreground classes is the primary metric of
// the report, its intervals and its paired tests. Imbalance ratios, remedies, folds,
// pools, external test sets and explanations do not apply.
type Segmentation struct {
	Name string
	// Train, Val and Test hold whole volumes: a volume (a patient) is in one of them only
	// (seg.Set.Split and Select).
	Train, Val, Test *seg.Set
	// Slices cuts the volumes into 2D image/mask pairs (seg.DefaultSliceConfig).
	Slices seg.SliceConfig
	// Protocol is the training template of every arm (segment.DefaultConfig; Backend,
	// Encoder, Seed and the pretrained encoder are set per cell).
	Protocol segment.Config
	// Overlays, when > 0, draws that many test slices (of different volumes) for every arm
	// of the first seed: image, true mask and each arm's prediction side by side.
	Overlays int
}

// ArmFrozen is the segmentation arm with a frozen pretrained encoder (segment.ArmFrozen).
const ArmFrozen = eval.Arm(segment.ArmFrozen)

// dataName names the study's data in titles.
func (c *Config) dataName() string {
	if c.segmentation() {
		return c.Segmentation.Name
	}
	return c.Dataset.Name
}

// segmentation tells whether the study segments.
func (c *Config) segmentation() bool { return c.Segmentation != nil }

// validateSegmentation checks a segmentation study's settings.
func (c *Config) validateSegmentation() error {
	s := c.Segmentation
	if c.Dataset != nil {
		return errors.New("study: set Dataset or Segmentation, not both")
	}
	for name, set := range map[string]*seg.Set{"train": s.Train, "val": s.Val, "test": s.Test} {
		if set == nil || len(set.Cases) == 0 {
			return fmt.Errorf("study: segmentation %s has no %s volumes", s.Name, name)
		}
	}
	if s.Train.NumClasses != s.Val.NumClasses || s.Train.NumClasses != s.Test.NumClasses {
		return fmt.Errorf("study: segmentation %s: train, val and test have %d, %d and %d classes", s.Name, s.Train.NumClasses, s.Val.NumClasses, s.Test.NumClasses)
	}
	if _, err := models.DenseOf(c.Encoder); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	for _, a := range c.Arms {
		if _, err := segment.ParseArm(string(a)); err != nil {
			return fmt.Errorf("study: segmentation: %w", err)
		}
	}
	switch {
	case !slices.Equal(c.Remedies, []string{supervised.RemedyNone}):
		return fmt.Errorf("study: segmentation: Remedies %v, want [none] (remedies are for class imbalance)", c.Remedies)
	case !slices.Equal(c.Imbalances, []float64{1}):
		return fmt.Errorf("study: segmentation: Imbalances %v, want [1]", c.Imbalances)
	case c.Folds != 0 || len(c.Pools) > 0 || len(c.ExternalTests) > 0 || c.Explain != 0 || !slices.Equal(c.PretrainOn, []string{OwnImages}):
		return errors.New("study: segmentation: folds, pools, external test sets and explanations are for classification studies")
	case s.Overlays < 0:
		return fmt.Errorf("study: segmentation: Overlays %d, want >= 0", s.Overlays)
	}
	p := s.Protocol
	p.Backend, p.Encoder = c.Backend, c.Encoder
	if err := p.Validate(); err != nil {
		return fmt.Errorf("study: segmentation protocol: %w", err)
	}
	if _, err := s.Test.Slices(s.Slices); err != nil {
		return fmt.Errorf("study: segmentation slices: %w", err)
	}
	return nil
}

// segDigest identifies a set's content: its cases' names, voxels and labels.
func segDigest(set *seg.Set) string {
	h := sha256.New()
	var buf [4]byte
	for _, c := range set.Cases {
		h.Write([]byte(c.Name))
		h.Write([]byte{0})
		for _, v := range c.Image.Data {
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			h.Write(buf[:])
		}
		h.Write(c.Labels)
	}
	return fmt.Sprintf("%d:%x", len(set.Cases), h.Sum(nil)[:8])
}

// describeSegmentation is the settings fingerprint's description of the data.
func (c *Config) describeSegmentation() (json.RawMessage, error) {
	s := c.Segmentation
	return describe(map[string]any{"name": s.Name, "task": "segmentation", "classes": s.Train.NumClasses, "slices": s.Slices,
		"splits": []string{segDigest(s.Train), segDigest(s.Val), segDigest(s.Test)}})
}

// describeSegmentationArm is the fingerprint's description of an arm's protocol.
func (c *Config) describeSegmentationArm() (json.RawMessage, error) {
	p := c.Segmentation.Protocol
	aug := p.Augment
	p.Backend, p.Encoder, p.Pretrained, p.Augment, p.Seed, p.Progress = nil, nil, nil, nil, 0, false
	return describe(map[string]any{"protocol": p, "augment": typed(aug), "overlays": c.Segmentation.Overlays})
}

// segSlices cuts a set's volumes into the study's slices.
func (c *Config) segSlices(set *seg.Set) (*seg.Slices, error) {
	sl, err := set.Slices(c.Segmentation.Slices)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	return sl, nil
}

// segPretrainImages are the slices of every training volume, masks unused.
func (c *Config) segPretrainImages() (*data.Split, error) {
	sl, err := c.segSlices(c.Segmentation.Train)
	if err != nil {
		return nil, err
	}
	return sl.Split(), nil
}

// runSegmentationCell trains and scores one cell of a segmentation study.
func (c *Config) runSegmentationCell(s *settings, cell Cell, pretrained *model.Store) (Result, error) {
	sg := c.Segmentation
	labelled := sg.Train
	if cell.Fraction != 1 {
		var err error
		if labelled, err = sg.Train.LabelFraction(cell.Fraction, cell.Seed); err != nil {
			return Result{}, fmt.Errorf("study: %s: %w", cell.Key(), err)
		}
	}
	var slicesOf [3]*seg.Slices
	for i, set := range []*seg.Set{labelled, sg.Val, sg.Test} {
		var err error
		if slicesOf[i], err = c.segSlices(set); err != nil {
			return Result{}, err
		}
	}
	if cell.Arm.UsesEncoder() && pretrained == nil {
		pretrained = eval.RandomEncoder(cell.Seed) // the random-initialisation floor
	}
	out, err := segment.RunArm(segment.Arm(cell.Arm), segment.ArmInput{Backend: c.Backend, Encoder: c.Encoder, Pretrained: pretrained,
		Train: slicesOf[0], Val: slicesOf[1], Test: slicesOf[2], Seed: cell.Seed}, sg.Protocol)
	if err != nil {
		return Result{}, err
	}
	res := Result{Cell: cell, Label: cell.Label(), Fingerprint: c.fingerprint(s, cell), TrainN: len(labelled.Cases),
		TrainClassCounts: []int{slicesOf[0].N()}, Selected: out.Selected, ValAUC: out.ValDice, TrainLoss: out.TrainLoss,
		Metrics: out.Metrics}
	res.AUCLow, res.AUCHigh = c.bootstrapDice(out.Test.Volumes, cell.Seed)
	if sg.Overlays > 0 && cell.Seed == slices.Min(c.Seeds) {
		if err := c.saveOverlayMasks(cell, slicesOf[2], out.Test.Pred); err != nil {
			return Result{}, fmt.Errorf("study: %s: overlays: %w", cell.Key(), err)
		}
	}
	return res, nil
}

// bootstrapDice is the 95% percentile-bootstrap interval, over test volumes, of the mean
// foreground Dice, or NaNs.
func (c *Config) bootstrapDice(volumes []metrics.VolumeScores, seed int64) (lo, hi float64) {
	if c.BootstrapReps == 0 || len(volumes) == 0 {
		return math.NaN(), math.NaN()
	}
	dice := make([]float64, len(volumes))
	for i, v := range volumes {
		for k := 1; k < len(v.Dice); k++ {
			dice[i] += v.Dice[k] / float64(len(v.Dice)-1)
		}
	}
	stat := func(idx []int) float64 {
		sum := 0.0
		for _, j := range idx {
			sum += dice[j]
		}
		return sum / float64(len(idx))
	}
	lo, hi, err := metrics.Bootstrap(len(dice), stat, c.BootstrapReps, 0.95, seed)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	return lo, hi
}

// OverlayDir is the folder, under a segmentation study's OutDir, holding each drawn cell's
// predicted masks of the overlay slices.
const OverlayDir = "overlays"

func (c *Config) overlayFile(cell Cell) string {
	return filepath.Join(c.OutDir, OverlayDir, safeName(cell.Key())+".json")
}

// saveOverlayMasks keeps the cell's predicted masks of the overlay slices (the same test
// slices for every arm: segment.OverlaySlices).
func (c *Config) saveOverlayMasks(cell Cell, test *seg.Slices, pred []uint8) error {
	n := test.Height * test.Width
	masks := map[int][]byte{}
	for _, i := range segment.OverlaySlices(test, c.Segmentation.Overlays) {
		masks[i] = pred[i*n : (i+1)*n]
	}
	b, err := json.Marshal(masks)
	if err != nil {
		return err
	}
	path := c.overlayFile(cell)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeOverlays draws, per label fraction, the overlay slices (rows): the image with its
// true mask, then every arm's prediction (columns), from the first seed's cells.
func (st *Study) writeOverlays(add func(string, error)) {
	cfg := &st.Config
	if !cfg.segmentation() || cfg.Segmentation.Overlays == 0 || len(st.Results) == 0 {
		return
	}
	test, err := cfg.segSlices(cfg.Segmentation.Test)
	if err != nil {
		add("overlays", err)
		return
	}
	rows := segment.OverlaySlices(test, cfg.Segmentation.Overlays)
	n := test.Height * test.Width
	// panel crops panel p (0 image, 1 truth, 2 prediction) of segment.Overlay's drawing.
	const scale = 3
	panel := func(pred []uint8, i, p int) (image.Image, error) {
		full := make([]uint8, test.N()*n)
		if pred != nil {
			copy(full[i*n:], pred)
		}
		img, err := segment.Overlay(test, full, i, scale)
		if err != nil {
			return nil, err
		}
		w := test.Width * scale
		x0 := p * (w + scale)
		return img.SubImage(image.Rect(x0, 0, x0+w, test.Height*scale)), nil
	}
	var fractions []float64
	for _, r := range st.Results {
		if !slices.Contains(fractions, r.Fraction) {
			fractions = append(fractions, r.Fraction)
		}
	}
	for _, frac := range fractions {
		g := &explain.Grid{Title: fmt.Sprintf("%s: test slices, true mask and each arm's prediction (%s%% of the labelled volumes, seed %d)",
			cfg.Segmentation.Name, fmtNum(frac*100), slices.Min(cfg.Seeds)), Columns: []string{"image", "true mask"}}
		var arms []Result
		for _, r := range st.Results {
			if r.Fraction == frac && r.Seed == slices.Min(cfg.Seeds) {
				arms = append(arms, r)
				g.Columns = append(g.Columns, r.Label)
			}
		}
		masks := make([]map[int][]byte, len(arms))
		for j, r := range arms {
			b, err := os.ReadFile(cfg.overlayFile(r.Cell))
			if err == nil {
				err = json.Unmarshal(b, &masks[j])
			}
			if err != nil {
				masks[j] = nil // computed without overlays: the column stays empty
			}
		}
		for _, i := range rows {
			stack := ""
			for _, s := range test.Stacks {
				if i >= s.First && i < s.First+s.Count {
					stack = s.Name
				}
			}
			g.Rows = append(g.Rows, fmt.Sprintf("%s slice %d", stack, i))
			var row []explain.Cell
			for p := range 2 {
				img, err := panel(nil, i, p)
				if err != nil {
					add("overlays", err)
					return
				}
				row = append(row, explain.Cell{Image: img})
			}
			for j, r := range arms {
				m := masks[j][i]
				if m == nil {
					row = append(row, explain.Cell{Caption: "no prediction saved"})
					continue
				}
				img, err := panel(m, i, 2)
				if err != nil {
					add("overlays", err)
					return
				}
				row = append(row, explain.Cell{Image: img, Caption: fmt.Sprintf("Dice %.3f (test mean)", r.Metrics[metrics.MetricDice])})
			}
			g.Cells = append(g.Cells, row)
		}
		name := fmt.Sprintf("overlays_f%s.png", fmtNum(frac))
		add(name, explain.WriteGrid(filepath.Join(cfg.OutDir, name), g))
	}
}

// describeSegmentationStudy is Describe's paragraph for a segmentation study.
func (c *Config) describeSegmentationStudy(b *strings.Builder) {
	s := c.Segmentation
	fmt.Fprintf(b, "Segmentation of %s (%d classes, background included): %d / %d / %d train / val / test volumes, split by volume, cut into %s slices of %d×%d. ",
		s.Name, s.Train.NumClasses, len(s.Train.Cases), len(s.Val.Cases), len(s.Test.Cases), s.Slices.Plane, s.Slices.Height, s.Slices.Width)
	fmt.Fprintf(b, "Encoder %s. Seeds %v; fractions %v of the labelled training volumes. ", c.Encoder.Name(), c.Seeds, c.Fractions)
	p := s.Protocol
	length := fmt.Sprintf("%d epochs", p.Epochs)
	if p.Steps > 0 {
		length = fmt.Sprintf("%d steps", p.Steps)
	}
	if p.MinEpochs > 0 {
		length += fmt.Sprintf(" and at least %d epochs over its labelled slices", p.MinEpochs)
	}
	fmt.Fprintf(b, "Every arm trains a U-Net over the encoder's stages for %s, batch %d, %s, Dice ×%s + cross-entropy ×%s, selected on the validation volumes' Dice (3D), scored on the test volumes in 3D (Dice, IoU, HD95 in mm; HD95 averages the volumes where it is finite). ",
		length, p.BatchSize, p.Optimizer, fmtNum(p.DiceWeight), fmtNum(p.CEWeight))
	if c.BootstrapReps > 0 {
		fmt.Fprintf(b, "Per-cell Dice intervals: %d bootstrap replicates over test volumes. ", c.BootstrapReps)
	}
}
