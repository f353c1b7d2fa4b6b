package study

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/explain"
)

// ExplainDir is the folder, under a study's OutDir, holding each explained cell's maps.
const ExplainDir = "explain"

// explains tells whether the cell draws explanations: Config.Explain is set, and the cell
// is of the first seed (and first fold), so that every arm's column shows the same test
// images under the same labelled subset.
func (c *Config) explains(cell Cell) bool {
	return c.Explain > 0 && cell.Seed == slices.Min(c.Seeds) && cell.Fold <= 1
}

// explainFile is where the maps of an explained cell are kept.
func (c *Config) explainFile(cell Cell) string {
	return filepath.Join(c.OutDir, ExplainDir, safeName(cell.Key())+".json")
}

// explainSelection is the test images every arm is explained on (explain.ChooseImages with
// the first seed).
func (c *Config) explainSelection() (*explain.Selection, error) {
	return explain.ChooseImages(c.Dataset.Test, c.Explain, slices.Min(c.Seeds))
}

// explainCell explains the cell's selected model on the chosen test images (Grad-CAM of the
// true class for ResNet classifiers and probes, attention rollout for ViT encoders, an
// empty column saying why for a kNN vote on a ResNet) and saves the column.
func (c *Config) explainCell(cell Cell, out *eval.Outcome, pretrained *model.Store) error {
	sel, err := c.explainSelection()
	if err != nil {
		return err
	}
	var m *explain.Model
	switch {
	case out.Classifier != nil:
		m, err = explain.FromClassifier(out.Classifier)
	case out.Probe != nil:
		m, err = explain.FromProbe(out.Probe)
	case pretrained != nil: // the kNN arm: its encoder only
		m, err = explain.FromEncoder(c.Backend, pretrained, c.Encoder)
	default:
		err = fmt.Errorf("study: %s: no model to explain", cell.Key())
	}
	if err != nil {
		return err
	}
	col, err := explain.NewColumn(cell.Label(), m, sel, explain.TrueClass)
	if err != nil {
		return err
	}
	return writeColumn(c.explainFile(cell), col)
}

func writeColumn(path string, col explain.Column) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(col)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readColumn(path string) (explain.Column, error) {
	var col explain.Column
	b, err := os.ReadFile(path)
	if err != nil {
		return col, err
	}
	err = json.Unmarshal(b, &col)
	return col, err
}

// writeExplanations draws, for each (label fraction, imbalance), the grid of the chosen test
// images (rows) under every explained arm (columns); cells computed before Config.Explain
// was set have no maps and are left out (their column is missing, and the grid says so).
func (st *Study) writeExplanations(add func(string, error)) {
	cfg := &st.Config
	if cfg.Explain == 0 || len(st.Results) == 0 {
		return
	}
	sel, err := cfg.explainSelection()
	if err != nil {
		add("explanations", err)
		return
	}
	type group struct{ frac, imb float64 }
	cols := map[group][]explain.Column{}
	missing := map[group]int{}
	var order []group
	for _, r := range st.Results {
		if !cfg.explains(r.Cell) {
			continue
		}
		g := group{r.Fraction, r.Imbalance}
		if _, seen := cols[g]; !seen {
			order = append(order, g)
			cols[g] = nil
		}
		col, err := readColumn(cfg.explainFile(r.Cell))
		if err != nil {
			missing[g]++
			continue
		}
		cols[g] = append(cols[g], col)
	}
	for _, g := range order {
		if len(cols[g]) == 0 {
			continue
		}
		title := fmt.Sprintf("%s: where each arm looks (%s%% labels, %s, seed %d; Grad-CAM of the true class, or attention rollout)",
			cfg.Dataset.Name, fmtNum(g.frac*100), ratioTitle(g.imb), slices.Min(cfg.Seeds))
		if missing[g] > 0 {
			title += fmt.Sprintf("; %d arm(s) have no maps", missing[g])
		}
		name := fmt.Sprintf("explain_f%s_imb%s.png", fmtNum(g.frac), fmtNum(g.imb))
		grid, err := explain.HeatGrid(title, sel, cols[g])
		if err == nil {
			err = explain.WriteGrid(filepath.Join(cfg.OutDir, name), grid)
		}
		add(name, err)
	}
}
