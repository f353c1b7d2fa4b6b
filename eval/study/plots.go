package study

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/medssl/medssl/eval/metrics"
	"github.com/medssl/medssl/eval/plot"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// WritePlots draws, into the study's folder, the label-efficiency curve of the test AUC
// (one per imbalance ratio, mean over seeds with its 95% interval band, see IntervalMethod), the test ROC
// curves of every arm (first seed, per fraction and imbalance; binary tasks), the
// pretraining loss and collapse curves, and a PCA of the test images' features under each
// pretrained encoder (first seed), and the explanation grids (Config.Explain). It returns the files' names, relative to the folder; an
// error lists the figures that failed (the others are written).
func (st *Study) WritePlots() ([]string, error) {
	dir := st.Config.OutDir
	var files []string
	var errs []error
	add := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		files = append(files, name)
	}
	imbalances := map[float64]bool{}
	for _, r := range st.Results {
		imbalances[r.Imbalance] = true
	}
	primary := reportMetrics(st.Results)[0].Name
	mt := metricTitle(primary)
	for _, test := range testSets(st.Results) {
		for imb := range imbalances {
			series := labelEfficiency(st.Results, primary, test, imb)
			if len(series) == 0 {
				continue
			}
			name := fmt.Sprintf("label_efficiency_%s_imb%s.png", primary, fmtNum(imb))
			title := fmt.Sprintf("%s, %s: test %s over replicates (95%% t-interval within [0, 1])", st.Config.dataName(), ratioTitle(imb), mt)
			if st.Config.segmentation() {
				title = fmt.Sprintf("%s: test Dice (3D, foreground mean) over seeds against the fraction of labelled training volumes (95%% t-interval within [0, 1])", st.Config.dataName())
			}
			if test != InternalTest {
				name = fmt.Sprintf("label_efficiency_%s_%s_imb%s.png", primary, safeName(test), fmtNum(imb))
				title = fmt.Sprintf("%s, %s: %s on the external test set %s (95%% t-interval within [0, 1])", st.Config.dataName(), ratioTitle(imb), mt, test)
			}
			add(name, plot.LabelEfficiency(filepath.Join(dir, name), title, "test "+mt, series))
		}
	}
	if ds := st.Config.Dataset; ds != nil && ds.NumClasses == 2 && !ds.Train.MultiLabel() && len(st.Results) > 0 {
		seed := slices.Min(st.Config.Seeds)
		type group struct{ frac, imb float64 }
		curves := map[group][]plot.ROCCurve{}
		var order []group
		for _, r := range st.Results {
			if r.Seed != seed || r.Fold > 1 {
				continue
			}
			g := group{r.Fraction, r.Imbalance}
			if curves[g] == nil {
				order = append(order, g)
			}
			scores := make([]float64, len(r.TestScores))
			for i, row := range r.TestScores {
				scores[i] = row[len(row)-1]
			}
			curves[g] = append(curves[g], plot.ROCCurve{Name: r.Label, Labels: r.TestLabels, Scores: scores})
		}
		for _, g := range order {
			name := fmt.Sprintf("roc_f%s_imb%s_seed%d.png", fmtNum(g.frac), fmtNum(g.imb), seed)
			add(name, plot.ROC(filepath.Join(dir, name),
				fmt.Sprintf("%s: test ROC, %s%% labels, %s, seed %d", st.Config.Dataset.Name, fmtNum(g.frac*100), ratioTitle(g.imb), seed), curves[g]))
		}
	}
	var curves []plot.Curve
	for _, p := range st.Pretrainings {
		var x, y []float64
		for i, l := range p.Loss {
			if !math.IsNaN(l) {
				x, y = append(x, float64(i+1)), append(y, l)
			}
		}
		if len(x) > 0 {
			name := p.title()
			curves = append(curves, plot.Curve{Name: name, Quantity: p.Method + " loss", X: x, Y: y})
			var steps, std, rank []float64
			for _, c := range p.Collapse {
				steps = append(steps, float64(c.Step))
				std = append(std, c.NormalizedStd)
				rank = append(rank, c.EffectiveRank)
			}
			if len(steps) > 0 {
				curves = append(curves,
					plot.Curve{Name: name, Quantity: "std of normalised features ×√d", X: steps, Y: std},
					plot.Curve{Name: name, Quantity: "effective rank of features", X: steps, Y: rank})
			}
			byName := map[string]*plot.Curve{}
			var names []string
			for _, sc := range p.Scores {
				c := byName[sc.Name]
				if c == nil {
					c = &plot.Curve{Name: name, Quantity: sc.Name + " (watching only)"}
					byName[sc.Name] = c
					names = append(names, sc.Name)
				}
				c.X, c.Y = append(c.X, float64(sc.Step)), append(c.Y, sc.Value)
			}
			for _, n := range names {
				curves = append(curves, *byName[n])
			}
		}
	}
	if len(curves) > 0 {
		add("pretraining_loss.png", plot.TrainingCurves(filepath.Join(dir, "pretraining_loss.png"), "pretraining loss, collapse measures and kNN validation AUC per step", curves))
	}
	for _, p := range st.Pretrainings {
		if p.Seed != slices.Min(st.Config.Seeds) || p.Fold > 1 || st.Config.segmentation() {
			continue
		}
		method := p.Method
		if p.Pool != "" {
			method += "@" + safeName(p.Pool)
		}
		name := fmt.Sprintf("embedding_%s_imb%s_seed%d.png", method, fmtNum(p.Imbalance), p.Seed)
		add(name, embedding(st, p, filepath.Join(dir, name)))
	}
	st.writeExplanations(add)
	st.writeOverlays(add)
	if len(errs) > 0 {
		return files, fmt.Errorf("%v", errs)
	}
	return files, nil
}

// embedding draws the PCA projection of the test images' features under a pretrained
// encoder, coloured by class: does the pretext task separate the classes before any label
// is seen?
func embedding(st *Study, p Pretraining, path string) error {
	ck, err := ssl.LoadEncoder(filepath.Join(st.Config.OutDir, PretrainDir, p.Name))
	if err != nil {
		return err
	}
	test := st.Config.Dataset.Test
	feats, err := models.Features(st.Config.Backend, ck.Store, st.Config.Encoder, test)
	if err != nil {
		return err
	}
	var groups []int
	var names []string
	if test.MultiLabel() {
		// Colour by whether the image has any finding: 14 overlapping labels do not colour.
		names = []string{"no positive label", "at least one positive label"}
		for _, row := range test.IntLabelRows() {
			groups = append(groups, boolInt(slices.Contains(row, 1)))
		}
	} else {
		groups = test.IntLabels()
		names = make([]string, st.Config.Dataset.NumClasses)
		for k := range names {
			names[k] = fmt.Sprintf("class %d", k)
			if k < len(st.Config.Dataset.Classes) {
				names[k] = st.Config.Dataset.Classes[k]
			}
		}
	}
	title := fmt.Sprintf("%s test images: PCA of %s features (%s, no labels seen)",
		st.Config.Dataset.Name, p.title(), st.Config.Encoder.Name())
	return plot.Embedding2D(path, title, metrics.FromFloat32(feats), groups, names)
}

// labelEfficiency returns one series per arm: mean AUC on the test set over replicates at
// each fraction, with the 95% t-interval within [0, 1] (IntervalMethod) when every fraction
// has at least 2 replicates.
func labelEfficiency(results []Result, metric, test string, imbalance float64) []plot.Series {
	byArm := map[string]map[float64][]float64{}
	var arms []string
	for _, r := range results {
		t, ok := r.Test(test)
		if !ok {
			continue
		}
		v := t.Metrics[metric]
		if r.Imbalance != imbalance || math.IsNaN(v) {
			continue
		}
		if byArm[r.Label] == nil {
			byArm[r.Label] = map[float64][]float64{}
			arms = append(arms, r.Label)
		}
		byArm[r.Label][r.Fraction] = append(byArm[r.Label][r.Fraction], v)
	}
	var out []plot.Series
	for _, arm := range arms {
		s := plot.Series{Name: arm}
		band := true
		for frac := range byArm[arm] {
			s.X = append(s.X, frac)
		}
		slices.Sort(s.X)
		for _, frac := range s.X {
			xs := byArm[arm][frac]
			mean, _ := metrics.MeanSD(xs)
			s.Mean = append(s.Mean, mean)
			lo, hi, err := seedInterval(xs, unit)
			if err != nil || math.IsNaN(lo) {
				band = false
			}
			s.Lo, s.Hi = append(s.Lo, lo), append(s.Hi, hi)
		}
		if !band {
			s.Lo, s.Hi = nil, nil
		}
		out = append(out, s)
	}
	return out
}

// ratioTitle names an imbalance setting in titles: 1 leaves the training split as it is
// (which may itself be imbalanced), r > 1 imposes r:1.
func ratioTitle(r float64) string {
	if r == 1 {
		return "training split as is"
	}
	return "imbalance " + fmtNum(r) + ":1 imposed"
}
