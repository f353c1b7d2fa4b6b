package explain

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/medssl/medssl/data"
)

// Selection is the set of test images every arm is explained on: the same rows in every
// column, so that arms can be compared side by side.
type Selection struct {
	// Images holds the chosen images in row order (a Subset of the source split).
	Images *data.Split
	// Indices are their indices in the source split.
	Indices []int
}

// ChooseImages picks perClass images of each class of a single-label split: for class
// c = 0, 1, …, perClass of its images drawn uniformly without replacement by a PCG
// generator seeded with (seed, c), listed in increasing index (a class with fewer images
// gives all it has). The choice depends only on the split's labels, perClass and seed, so
// every arm, run and machine explaining the same split with the same seed shows the same
// rows.
func ChooseImages(split *data.Split, perClass int, seed int64) (*Selection, error) {
	if err := checkImages(split); err != nil {
		return nil, err
	}
	if perClass <= 0 {
		return nil, fmt.Errorf("explain: %d images per class, want > 0", perClass)
	}
	var chosen []int
	for c, idx := range split.ClassIndices() {
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(c)))
		pick := slices.Clone(idx)
		rng.Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
		pick = pick[:min(perClass, len(pick))]
		slices.Sort(pick)
		chosen = append(chosen, pick...)
	}
	return &Selection{Images: split.Subset(chosen), Indices: chosen}, nil
}

// RowLabels names each row by its index in the source split and its label: "#12 label 1".
func (s *Selection) RowLabels() []string {
	out := make([]string, len(s.Indices))
	for r, i := range s.Indices {
		out[r] = fmt.Sprintf("#%d label %d", i, s.Images.Label(r))
	}
	return out
}

// Explain returns the maps of an arm's model on images: attention rollout for a ViT
// encoder (any arm, kNN included: rollout reads only the encoder), Grad-CAM of target's
// class at the last stage for a classifier on a StagedEncoder (a ResNet). A model without
// a head on a ResNet (the kNN arm) gets ErrNoGradient: a vote among neighbours has no class
// score to differentiate, so no Grad-CAM is drawn for it rather than a substitute that
// would explain something else.
func (m *Model) Explain(images *data.Split, target Target) ([]Map, error) {
	if _, ok := vitOf(m.Encoder); ok {
		return m.Rollout(images)
	}
	return m.GradCAM(images, target, LastStage)
}

// Column is one arm's maps for a Selection's images, a column of HeatGrid.
type Column struct {
	Title string
	// Maps holds one map per image; nil leaves the column's cells empty, showing Note.
	Maps []Map
	Note string
}

// NewColumn explains the selection with m (Explain) and titles the column with the arm's
// name and the method. A model with no explanation (ErrNoGradient) gives an empty column
// saying so, not an error, so that a study's grid keeps every arm.
func NewColumn(arm string, m *Model, sel *Selection, target Target) (Column, error) {
	maps, err := m.Explain(sel.Images, target)
	switch {
	case errors.Is(err, ErrNoGradient) && !m.HasHead():
		return Column{Title: arm, Note: "no map (no class gradient)"}, nil
	case errors.Is(err, ErrNoGradient):
		return Column{Title: arm, Note: "no map (no feature maps)"}, nil
	case err != nil:
		return Column{}, fmt.Errorf("explain: arm %s: %w", arm, err)
	}
	return Column{Title: fmt.Sprintf("%s (%s)", arm, maps[0].Method), Maps: maps}, nil
}

// HeatGrid lays out the selection's images (first column, as they are) and every column's
// maps overlaid on them (Overlay), with a colour bar. A Grad-CAM cell's caption gives the
// class the model predicts and its probability, and says when the map is empty (Map.Zero);
// a rollout cell's gives Map.Contrast, since its colours are stretched (NormaliseRange).
func HeatGrid(title string, sel *Selection, cols []Column) (*Grid, error) {
	if sel == nil || sel.Images == nil || sel.Images.N == 0 {
		return nil, errors.New("explain: empty selection")
	}
	imgs := sel.Images
	h, w := imgs.Height, imgs.Width
	g := &Grid{Title: title, Columns: []string{"image"}, Rows: sel.RowLabels(), Colorbar: true}
	for _, c := range cols {
		if c.Maps != nil && len(c.Maps) != imgs.N {
			return nil, fmt.Errorf("explain: column %q has %d maps for %d images", c.Title, len(c.Maps), imgs.N)
		}
		g.Columns = append(g.Columns, c.Title)
	}
	for r := range imgs.N {
		gray, err := Gray(imgs, r)
		if err != nil {
			return nil, err
		}
		plain, err := ToImage(gray, h, w, 1)
		if err != nil {
			return nil, err
		}
		row := []Cell{{Image: plain}}
		for _, c := range cols {
			if c.Maps == nil {
				row = append(row, Cell{Caption: c.Note})
				continue
			}
			mp := c.Maps[r]
			if mp.Height != h || mp.Width != w {
				return nil, fmt.Errorf("explain: column %q: map %d is %d×%d, image %d×%d", c.Title, r, mp.Height, mp.Width, h, w)
			}
			over, err := Overlay(gray, mp.Heat, h, w)
			if err != nil {
				return nil, err
			}
			row = append(row, Cell{Image: over, Caption: caption(mp)})
		}
		g.Cells = append(g.Cells, row)
	}
	return g, nil
}

// caption is a Grad-CAM cell's predicted class and probability, a rollout cell's contrast.
func caption(m Map) string {
	if m.Method == MethodRollout {
		return fmt.Sprintf("max/min %.2f", m.Contrast())
	}
	s := fmt.Sprintf("pred %d (%.2f)", m.Predicted, m.Probs[m.Predicted])
	if m.Zero {
		s += ", empty map"
	}
	return s
}

// MAEGrid lays out reconstructions, one row per image: the original, the masked input,
// the reconstruction and, for a model trained on normalised patches, the predicted pattern
// alone (see Reconstruction), with rows labelled as given.
func MAEGrid(title string, rows []string, recs []Reconstruction) (*Grid, error) {
	if len(recs) == 0 || len(rows) != len(recs) {
		return nil, fmt.Errorf("explain: %d row labels for %d reconstructions", len(rows), len(recs))
	}
	g := &Grid{Title: title, Columns: []string{"original", "masked input", "reconstruction"}, Rows: rows}
	pattern := recs[0].Pattern != nil
	if pattern {
		g.Columns = append(g.Columns, "predicted pattern")
	}
	for _, r := range recs {
		var row []Cell
		cols := [][]float32{r.Original, r.Masked, r.Reconstructed}
		if pattern {
			cols = append(cols, r.Pattern)
		}
		for _, vals := range cols {
			img, err := ToImage(vals, r.Height, r.Width, r.Channels)
			if err != nil {
				return nil, err
			}
			row = append(row, Cell{Image: img})
		}
		g.Cells = append(g.Cells, row)
	}
	return g, nil
}
