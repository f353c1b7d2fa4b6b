package study

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/ssl"
)

// Describe states the study's settings in one paragraph, for reports.
func (c Config) Describe() string {
	if err := c.Validate(); err != nil {
		return err.Error()
	}
	var b strings.Builder
	if c.segmentation() {
		c.describeSegmentationStudy(&b)
		c.describePretraining(&b)
		return b.String()
	}
	ds := c.Dataset
	kinds := "classes"
	if ds.Train.MultiLabel() {
		kinds = "labels"
	}
	fmt.Fprintf(&b, "Dataset %s (%s, %d %s; train %d / val %d / test %d images of %d×%d×%d). ",
		ds.Name, ds.Task, ds.NumClasses, kinds, ds.Train.N, ds.Val.N, ds.Test.N, ds.Train.Height, ds.Train.Width, ds.Train.Channels)
	fmt.Fprintf(&b, "Encoder %s (%d features). Seeds %v; label fractions %v; imbalance ratios %v (majority:minority imposed on the training split before subsetting). ",
		c.Encoder.Name(), c.Encoder.FeatureDim(), c.Seeds, c.Fractions, c.Imbalances)
	if c.Folds > 0 {
		fmt.Fprintf(&b, "%d-fold cross-validation on train and val together (data.Folds: by patient where ids exist, stratified, drawn anew per seed) in place of the validation split; the test split is untouched. ", c.Folds)
	}
	for _, t := range c.ExternalTests {
		fmt.Fprintf(&b, "External test set %s: %d images (%s). ", t.Name, t.Split.N, counts(t.Split.ClassCounts()))
	}
	c.describePretraining(&b)
	if c.KNNMonitor {
		fmt.Fprintf(&b, "Each pretraining is watched by a kNN classifier's validation AUC every %d epochs (labels used for watching only; the last checkpoint is always the one evaluated). ", c.Pretrain.MonitorEpochs)
	}
	pr := c.Protocols
	t := pr.Train
	epochs := fmt.Sprintf("%d epochs", t.Epochs)
	if t.MinSteps > 0 {
		epochs += fmt.Sprintf(" and at least %d steps (fine-tuning too; a run stretched to more epochs is validated about %d times, evenly, and after its last epoch)", t.MinSteps, t.Epochs)
	}
	fmt.Fprintf(&b, "Supervised baseline: %s, batch %d, %s, %s augmentation, best validation AUC epoch kept. ",
		epochs, t.BatchSize, t.Optimizer, augment.Name(t.Augment))
	from := "the whole encoder"
	if pr.FineTune.TrainableFrom != "" {
		from = "from " + pr.FineTune.TrainableFrom + " on (earlier layers frozen)"
	}
	fmt.Fprintf(&b, "Fine-tuning: same recipe, %d epochs, %s, encoder lr ×%s. ", pr.FineTune.Epochs, from, fmtNum(pr.FineTune.EncoderLRMultiplier))
	fmt.Fprintf(&b, "Linear probe: frozen features (inference-mode batch norm), %d epochs, %s. ", pr.Probe.Epochs, pr.Probe.Optimizer)
	fmt.Fprintf(&b, "Every trained arm (supervised, fine-tuning, linear) searches the same grid on validation AUC: its learning rate ×%v, weight decay %v (%d trainings each). ",
		pr.Search.LRFactors, orRecipe(pr.Search.WeightDecays), pr.Search.Trials())
	remedyArms := "every trained arm"
	if c.RemedyArms != nil {
		remedyArms = "the " + joinArms(c.RemedyArms) + " arm" + plural(len(c.RemedyArms)) + " (the others without)"
	}
	fmt.Fprintf(&b, "Remedies against class imbalance: %s (supervised.RemedyByName), for %s. ", strings.Join(c.Remedies, ", "), remedyArms)
	ks := fmt.Sprint(pr.KNN.K)
	if len(pr.KNNKs) > 0 {
		ks = fmt.Sprintf("%v (chosen on validation AUC)", pr.KNNKs)
	}
	fmt.Fprintf(&b, "kNN: %s similarity, k %s, temperature %s, weighted vote exp(sim/T) (Wu et al. 2018). ", pr.KNN.Distance, ks, fmtNum(pr.KNN.Temperature))
	if c.BootstrapReps > 0 {
		fmt.Fprintf(&b, "Per-cell test AUC intervals: %d stratified bootstrap replicates. ", c.BootstrapReps)
	}
	if c.Explain > 0 {
		fmt.Fprintf(&b, "Explanations: every arm of seed %d on %d test images per class (the same images in every column): Grad-CAM of the true class at the last stage, or attention rollout for ViT encoders; kNN has no class gradient.", slices.Min(c.Seeds), c.Explain)
	}
	return b.String()
}

func orRecipe(wds []float64) string {
	if len(wds) == 0 {
		return "as the recipe's"
	}
	return fmt.Sprint(wds)
}

// WriteCSV writes one row per cell: its settings, every test metric, the AUC bootstrap
// interval, the validation AUC, what model selection chose, and its wall time.
func WriteCSV(w io.Writer, results []Result) error {
	var metrics, selected []string
	for _, r := range results {
		for k := range r.Metrics {
			if !slices.Contains(metrics, k) {
				metrics = append(metrics, k)
			}
		}
		for k := range r.Selected {
			if !slices.Contains(selected, k) {
				selected = append(selected, k)
			}
		}
	}
	slices.SortFunc(metrics, metricOrder)
	slices.Sort(selected)
	cw := csv.NewWriter(w)
	header := []string{"label", "method", "arm", "fraction", "imbalance", "seed", "train_n"}
	header = append(header, metrics...)
	header = append(header, "auc_ci_low", "auc_ci_high", "val_auc")
	for _, k := range selected {
		header = append(header, "selected_"+k)
	}
	header = append(header, "seconds", "pretraining", "fingerprint")
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("study: csv: %w", err)
	}
	for _, r := range results {
		rec := []string{r.Label, r.Method, string(r.Arm), fmtNum(r.Fraction), fmtNum(r.Imbalance), fmt.Sprint(r.Seed), fmt.Sprint(r.TrainN)}
		for _, k := range metrics {
			rec = append(rec, csvNum(r.Metrics, k))
		}
		rec = append(rec, fmtNum(r.AUCLow), fmtNum(r.AUCHigh), fmtNum(r.ValAUC))
		for _, k := range selected {
			rec = append(rec, csvNum(r.Selected, k))
		}
		rec = append(rec, fmtNum(r.Seconds), r.Pretraining, r.Fingerprint)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("study: csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("study: csv: %w", err)
	}
	return nil
}

func csvNum(m map[string]float64, k string) string {
	if v, ok := m[k]; ok {
		return fmtNum(v)
	}
	return ""
}

// metricOrder puts the headline metrics first, then the rest alphabetically.
func metricOrder(a, b string) int {
	rank := func(s string) int {
		for i, m := range []string{metrics.MetricAUC, metrics.MetricACC, metrics.MetricBalancedACC, metrics.MetricMacroF1} {
			if s == m {
				return i
			}
		}
		return 4
	}
	if ra, rb := rank(a), rank(b); ra != rb {
		return ra - rb
	}
	return strings.Compare(a, b)
}

// WriteJSON writes every cell (as in results.jsonl, test scores included) and every
// pretraining (with its loss curve) as one indented JSON document.
func WriteJSON(w io.Writer, results []Result, pretrainings []Pretraining) error {
	pre := make([]jsonPretraining, len(pretrainings))
	for i := range pretrainings {
		pre[i] = jsonPretraining{pretrainingAlias: (*pretrainingAlias)(&pretrainings[i]), Loss: toNums(pretrainings[i].Loss)}
	}
	if results == nil {
		results = []Result{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(map[string]any{"cells": results, "pretrainings": pre}); err != nil {
		return fmt.Errorf("study: json: %w", err)
	}
	return nil
}

// Files written by WriteFiles into the study's OutDir.
const (
	ReportFile = "report.md"
	CSVFile    = "cells.csv"
	JSONFile   = "cells.json"
)

// WriteFiles writes the study's figures (WritePlots), then report.md (showing them),
// cells.csv and cells.json into its OutDir. Figures that fail are reported in the error
// after every other file is written.
func (s *Study) WriteFiles(opt MarkdownOptions) error {
	dir := s.Config.OutDir
	figures, plotErr := s.WritePlots()
	opt.Figures = append(opt.Figures, figures...)
	for name, write := range map[string]func(io.Writer) error{
		ReportFile: func(w io.Writer) error { return s.Markdown(w, opt) },
		CSVFile:    func(w io.Writer) error { return WriteCSV(w, s.Results) },
		JSONFile:   func(w io.Writer) error { return WriteJSON(w, s.Results, s.Pretrainings) },
	} {
		if err := writeFile(filepath.Join(dir, name), write); err != nil {
			return err
		}
	}
	if plotErr != nil {
		return fmt.Errorf("study: plots: %w", plotErr)
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("study: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	return nil
}

func joinArms(arms []eval.Arm) string {
	names := make([]string, len(arms))
	for i, a := range arms {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}

// describePretraining writes the pretraining settings: methods, length, batch,
// augmentation, the images pretrained on and each method's optimiser.
func (c *Config) describePretraining(b *strings.Builder) {
	p := c.Pretrain
	length := fmt.Sprintf("%d epochs", p.Epochs)
	if p.Steps > 0 {
		length = fmt.Sprintf("%d steps", p.Steps)
	}
	on := make([]string, len(c.PretrainOn))
	for i, name := range c.PretrainOn {
		on[i] = "the training images without labels"
		if c.segmentation() {
			on[i] = "the slices of every training volume without their masks"
		}
		if pool, ok := c.pool(name); ok {
			on[i] = fmt.Sprintf("the pool %s (%d unlabelled images)", name, pool.Source.Len())
		}
	}
	where := "on " + strings.Join(on, " and on ")
	if len(on) > 1 { // each source is its own pretraining (a pool's arms are named method@pool)
		where = "separately on " + strings.Join(on, " and on ")
	}
	fmt.Fprintf(b, "Pretraining (%s): %s, batch %d, %s augmentation, %s; ",
		strings.Join(c.Methods, ", "), length, p.BatchSize, augment.Name(p.Augment), where)
	for i, name := range c.Methods {
		if name == NoPretraining {
			continue
		}
		m, _ := ssl.New(name)
		opt, _ := c.pretrainOptimizer(m)
		sep := "; "
		if i == len(c.Methods)-1 {
			sep = ". "
		}
		fmt.Fprintf(b, "%s: %s%s", name, opt, sep)
	}
	if c.PretrainRecipe != "" {
		fmt.Fprintf(b, "(Recipe %q.) ", c.PretrainRecipe)
	}
}
