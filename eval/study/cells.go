package study

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/models/optim"
	"github.com/medssl/medssl/ssl"
	"github.com/medssl/medssl/supervised"
)

// Cell is one point of a study's grid.
type Cell struct {
	Method string `json:"method"` // pretext method, or NoPretraining
	// Pool names the pool the method pretrained on (Config.Pools); empty for the cell's own
	// training images.
	Pool string   `json:"pool,omitempty"`
	Arm  eval.Arm `json:"arm"`
	// Remedy is the named remedy against class imbalance the arm trains with
	// (supervised.RemedyByName; kNN cells have "none").
	Remedy    string  `json:"remedy"`
	Fraction  float64 `json:"fraction"`
	Imbalance float64 `json:"imbalance"`
	Seed      int64   `json:"seed"`
	// Fold is the cross-validation fold (1 to Config.Folds) that selects the cell's model;
	// 0 without cross-validation.
	Fold int `json:"fold,omitempty"`
}

// Label names the cell's arm in reports: "supervised", or "<method>+<arm>" such as
// "simclr+linear" ("<method>@<pool>+<arm>" when pretrained on a pool), followed by the
// remedy in parentheses unless it is "none": "supervised (weighted)".
func (c Cell) Label() string {
	m := c.Method
	if c.Pool != "" {
		m += "@" + c.Pool
	}
	l := m + "+" + string(c.Arm)
	if c.Arm == eval.ArmSupervised {
		l = string(eval.ArmSupervised)
	}
	if c.Remedy != supervised.RemedyNone {
		l += " (" + c.Remedy + ")"
	}
	return l
}

// Baseline is the label of the cell every cell of this one's label is compared with: the
// supervised arm with the same remedy (the same care on both sides), and for a supervised
// arm with a remedy, the plain supervised arm. It is empty for the plain supervised arm.
func (c Cell) Baseline() string {
	base := Cell{Arm: eval.ArmSupervised, Remedy: c.Remedy}
	if c.Arm == eval.ArmSupervised {
		if c.Remedy == supervised.RemedyNone {
			return ""
		}
		base.Remedy = supervised.RemedyNone
	}
	return base.Label()
}

// Key identifies the cell within a study, e.g. "simclr+linear f=0.1 imb=1 seed=2" (and
// " fold=3" under cross-validation).
func (c Cell) Key() string {
	k := fmt.Sprintf("%s f=%s imb=%s seed=%d", c.Label(), fmtNum(c.Fraction), fmtNum(c.Imbalance), c.Seed)
	if c.Fold > 0 {
		k += fmt.Sprintf(" fold=%d", c.Fold)
	}
	return k
}

// Replicate is what a paired comparison pairs two arms on: the seed, and the fold under
// cross-validation.
type Replicate struct {
	Seed int64
	Fold int
}

// Replicate returns the cell's seed and fold.
func (c Cell) Replicate() Replicate { return Replicate{c.Seed, c.Fold} }

func (r Replicate) String() string {
	if r.Fold == 0 {
		return fmt.Sprintf("seed %d", r.Seed)
	}
	return fmt.Sprintf("seed %d fold %d", r.Seed, r.Fold)
}

// NeedsPretraining tells whether the cell reads a pretrained encoder.
func (c Cell) NeedsPretraining() bool { return c.Arm.UsesEncoder() && c.Method != NoPretraining }

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// Cells lists the study's cells in the order Run computes them: seeds, then folds, then
// imbalance ratios, then label fractions, then the supervised arm followed by each method's
// arms (per pretraining source). The order keeps a partial study useful (whole seeds finish
// first) and lets one pretraining serve the consecutive cells that need it. A Shard's cells
// are a part of this list, in this order.
func (c Config) Cells() ([]Cell, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c.cells(), nil
}

func (c *Config) cells() []Cell {
	var out []Cell
	want := map[eval.Arm]bool{}
	for _, a := range c.Arms {
		want[a] = true
	}
	folds := []int{0}
	if c.Folds >= 2 {
		folds = folds[:0]
		for f := range c.Folds {
			folds = append(folds, f+1)
		}
	}
	for _, seed := range c.Seeds {
		for _, fold := range folds {
			for _, imb := range c.Imbalances {
				for _, frac := range c.Fractions {
					cell := func(m, pool string, a eval.Arm, r string) Cell {
						return Cell{Method: m, Pool: pool, Arm: a, Remedy: r, Fraction: frac, Imbalance: imb, Seed: seed, Fold: fold}
					}
					if want[eval.ArmSupervised] {
						for _, r := range c.remediesOf(eval.ArmSupervised) {
							out = append(out, cell(NoPretraining, "", eval.ArmSupervised, r))
						}
					}
					for _, m := range c.Methods {
						sources := c.PretrainOn
						if m == NoPretraining {
							sources = []string{OwnImages} // nothing pretrains: one random encoder
						}
						for _, on := range sources {
							pool := on
							if on == OwnImages {
								pool = ""
							}
							for _, a := range c.encoderArms() {
								// "none"+"finetune" would repeat the supervised arm.
								if !want[a] || (m == NoPretraining && a == eval.ArmFineTune) {
									continue
								}
								if a == eval.ArmKNN { // a vote has no loss to weigh or batches to resample
									out = append(out, cell(m, pool, a, supervised.RemedyNone))
									continue
								}
								for _, r := range c.remediesOf(a) {
									out = append(out, cell(m, pool, a, r))
								}
							}
						}
					}
				}
			}
		}
	}
	return out
}

// encoderArms lists, in grid order, the arms that read an encoder: the linear probe, kNN
// and fine-tuning; for segmentation, the frozen encoder and fine-tuning.
func (c *Config) encoderArms() []eval.Arm {
	if c.segmentation() {
		return []eval.Arm{ArmFrozen, eval.ArmFineTune}
	}
	return []eval.Arm{eval.ArmLinear, eval.ArmKNN, eval.ArmFineTune}
}

// remediesOf lists the remedies trained arm a runs with (see Config.RemedyArms).
func (c *Config) remediesOf(a eval.Arm) []string {
	if c.RemedyArms == nil || slices.Contains(c.RemedyArms, a) {
		return c.Remedies
	}
	return []string{supervised.RemedyNone}
}

// settings are the JSON descriptions of everything a cell's result can depend on besides
// the cell itself: the dataset, the encoder's full configuration, each method's
// hyperparameters, the pretraining recipe (optimiser, schedule, augmentation parameters),
// each arm's protocol (the same), and the bootstrap replicates of the stored interval.
type settings struct {
	dataset, encoder, pretrain, bootstrap json.RawMessage
	// evaluation describes how a cell is validated and scored: the folds and the external
	// test sets.
	evaluation json.RawMessage
	methods    map[string]json.RawMessage
	pools      map[string]json.RawMessage
	arms       map[armRemedy]json.RawMessage
}

// armRemedy keys an arm's settings: its protocol with one remedy.
type armRemedy struct {
	arm    eval.Arm
	remedy string
}

// fingerprints describes the study's settings; an error names a setting that cannot be
// described (a transform or method whose parameters do not encode as JSON, such as
// augment.Func: use a struct transform such as augment.Pipeline).
func (c *Config) fingerprints() (*settings, error) {
	s := &settings{methods: map[string]json.RawMessage{}, pools: map[string]json.RawMessage{}, arms: map[armRemedy]json.RawMessage{}}
	var err error
	if c.segmentation() {
		s.dataset, err = c.describeSegmentation()
	} else {
		ds := c.Dataset
		s.dataset, err = describe(map[string]any{"name": ds.Name, "task": ds.Task.String(), "classes": ds.NumClasses,
			"images": []int{ds.Train.Height, ds.Train.Width, ds.Train.Channels},
			"splits": []any{splitDigest(ds.Train), splitDigest(ds.Val), splitDigest(ds.Test)}})
	}
	if err != nil {
		return nil, err
	}
	if s.encoder, err = describe(typed(c.Encoder)); err != nil {
		return nil, fmt.Errorf("study: encoder: %w", err)
	}
	p := c.Pretrain
	aug := p.Augment
	// What only affects logging, checkpoint cadence or who runs it leaves results unchanged
	// (a resumed pretraining equals an uninterrupted one): it is left out. The optimiser is
	// described per method below, as the recipe resolves it.
	p.Backend, p.Encoder, p.Method, p.Augment, p.Log, p.Monitors = nil, nil, nil, nil, nil, nil
	p.Seed, p.CheckpointDir, p.CheckpointEvery, p.MonitorEpochs, p.MonitorSteps, p.Progress = 0, "", 0, 0, 0, false
	p.Optimizer = optim.Config{}
	if s.pretrain, err = describe(map[string]any{"recipe": p, "augment": typed(aug)}); err != nil {
		return nil, fmt.Errorf("study: pretraining augmentation: %w", err)
	}
	for _, name := range c.Methods {
		if name == NoPretraining {
			continue
		}
		m, err := ssl.New(name)
		if err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
		opt, err := c.pretrainOptimizer(m)
		if err != nil {
			return nil, err
		}
		if s.methods[name], err = describe(map[string]any{"method": typed(m), "optimizer": opt}); err != nil {
			return nil, fmt.Errorf("study: method %s: %w", name, err)
		}
	}
	for _, cell := range c.cells() {
		k := armRemedy{cell.Arm, cell.Remedy}
		if _, done := s.arms[k]; done {
			continue
		}
		if c.segmentation() {
			if s.arms[k], err = c.describeSegmentationArm(); err != nil {
				return nil, fmt.Errorf("study: segmentation protocol: %w", err)
			}
			continue
		}
		pr, err := c.protocolsFor(cell.Remedy)
		if err != nil {
			return nil, err
		}
		train, trainAug := pr.Train, pr.Train.Augment
		train.Backend, train.Encoder, train.Augment, train.Pretrained, train.Seed, train.Progress = nil, nil, nil, nil, 0, false
		probe := pr.Probe
		// The probe trains on fixed features: its augmentation is never used.
		probe.Backend, probe.Encoder, probe.Augment, probe.Pretrained, probe.Seed, probe.Progress = nil, nil, nil, nil, 0, false
		var v any
		switch cell.Arm {
		case eval.ArmSupervised:
			v = map[string]any{"train": train, "augment": typed(trainAug), "search": pr.Search}
		case eval.ArmFineTune:
			v = map[string]any{"train": train, "augment": typed(trainAug), "finetune": pr.FineTune, "search": pr.Search}
		case eval.ArmLinear:
			v = map[string]any{"probe": probe, "search": pr.Search}
		case eval.ArmKNN:
			v = map[string]any{"knn": pr.KNN, "ks": pr.KNNKs}
		}
		if s.arms[k], err = describe(v); err != nil {
			return nil, fmt.Errorf("study: arm %s: %w", cell.Arm, err)
		}
	}
	if s.bootstrap, err = describe(c.BootstrapReps); err != nil {
		return nil, err
	}
	var external []string
	for _, t := range c.ExternalTests {
		external = append(external, t.Name+"="+splitDigest(t.Split))
	}
	if s.evaluation, err = describe(map[string]any{"folds": c.Folds, "external": external}); err != nil {
		return nil, err
	}
	for _, p := range c.Pools {
		d, err := sourceDigest(p.Source)
		if err != nil {
			return nil, fmt.Errorf("study: pool %q: %w", p.Name, err)
		}
		if s.pools[p.Name], err = describe(map[string]any{"digest": d, "images": p.Source.Len()}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// typed describes a value with its Go type, so that two types with equal fields differ.
func typed(v any) any {
	if v == nil {
		return nil
	}
	return map[string]any{"type": fmt.Sprintf("%T", v), "value": v}
}

func describe(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot describe its parameters for the settings fingerprint (%w); use a type whose exported fields hold them, such as augment.Pipeline", err)
	}
	return b, nil
}

// splitDigest identifies a split's content: its size and a hash of its images and labels.
func splitDigest(s *data.Split) string {
	h := sha256.New()
	h.Write(s.Images)
	for _, l := range s.Labels {
		h.Write([]byte{byte(l), byte(l >> 8), byte(l >> 16), byte(l >> 24)})
	}
	return fmt.Sprintf("%d:%x", s.N, h.Sum(nil)[:8])
}

// hash returns a short hash of the given parts.
func hash(parts ...json.RawMessage) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// pretrainKey names the pretraining a cell needs (its folder under OutDir/pretrain). On
// the cell's own images it depends on the imbalance, seed and fold (the images it sees); on
// a pool, on the seed only.
func (c *Config) pretrainKey(s *settings, cell Cell) string {
	enc := safeName(c.Encoder.Name())
	if cell.Pool != "" {
		return fmt.Sprintf("%s@%s-%s-seed%d-%s", cell.Method, safeName(cell.Pool), enc, cell.Seed,
			hash(s.pools[cell.Pool], s.encoder, s.pretrain, s.methods[cell.Method]))
	}
	fold := ""
	if cell.Fold > 0 {
		fold = fmt.Sprintf("-fold%dof%d", cell.Fold, c.Folds)
	}
	return fmt.Sprintf("%s-%s-imb%s-seed%d%s-%s", cell.Method, enc, fmtNum(cell.Imbalance), cell.Seed, fold,
		hash(s.dataset, s.encoder, s.pretrain, s.methods[cell.Method]))
}

// fingerprint hashes every setting cell's result depends on, so that results computed with
// other settings are never mistaken for this study's.
func (c *Config) fingerprint(s *settings, cell Cell) string {
	parts := []json.RawMessage{s.dataset, s.encoder, s.arms[armRemedy{cell.Arm, cell.Remedy}], s.bootstrap}
	if cell.NeedsPretraining() {
		parts = append(parts, s.pretrain, s.methods[cell.Method])
		if cell.Pool != "" {
			parts = append(parts, s.pools[cell.Pool])
		}
	}
	// Studies without folds or external tests keep the fingerprints they had before these
	// settings existed, so their results stay valid.
	if c.Folds > 0 || len(c.ExternalTests) > 0 {
		parts = append(parts, s.evaluation)
	}
	// An explained cell also produced its maps: turning explanations on recomputes the
	// cells that draw them (the first seed's), and only those.
	if c.explains(cell) {
		parts = append(parts, json.RawMessage(fmt.Sprintf("explain %d", c.Explain)))
	}
	return hash(parts...)
}

// safeName makes a name usable as one path element.
func safeName(s string) string {
	return strings.NewReplacer("/", "_", string(filepath.Separator), "_").Replace(s)
}
