package study

import (
	"fmt"
	"slices"

	"github.com/medssl/medssl/data"
)

// OwnImages is the PretrainOn entry for pretraining on each cell's own training images
// (after its imbalance ratio, and without its validation fold under cross-validation).
const OwnImages = "own"

// Pool is an unlabelled image source pretrainings may read instead of the cell's own
// training images: a larger set of the same domain (another .npz's images, an image folder
// as a data/stream, NIfTI slices). A pool pretraining depends only on the method and the
// seed, so one serves every fraction, imbalance and fold of that seed.
type Pool struct {
	Name string // how reports name it: "simclr@<name>+linear"
	// Source serves the images. Its images must have the dataset's shape. The study
	// fingerprints it: a *data.Split by its content, any other source through a
	// Digest() (string, error) method (data/stream's Stream has one).
	Source data.Source
}

// TestSet is an external test set: images from another site, scanner or file, with the
// dataset's classes. Every cell scores it beside the internal test split; the report gives it
// its own columns, intervals and paired tests. It is never used for training or selection.
type TestSet struct {
	Name  string
	Split *data.Split
}

// digester is a source that can identify its content for the settings fingerprint.
type digester interface {
	Digest() (string, error)
}

// sourceDigest identifies a pool's content.
func sourceDigest(src data.Source) (string, error) {
	switch s := src.(type) {
	case *data.Split:
		return splitDigest(s), nil
	case digester:
		return s.Digest()
	}
	return "", fmt.Errorf("a %T cannot be fingerprinted: give it a Digest() (string, error) method or use a *data.Split", src)
}

// validateSources checks the pools, PretrainOn and the external test sets against the
// dataset.
func (c *Config) validateSources() error {
	h, w, ch := c.Dataset.Train.ImageShape()
	names := map[string]bool{OwnImages: true}
	for _, p := range c.Pools {
		if p.Name == "" || p.Name == OwnImages || names[p.Name] || p.Source == nil {
			return fmt.Errorf("study: pool %q: every pool needs a Source and its own name (not %q)", p.Name, OwnImages)
		}
		names[p.Name] = true
		if ph, pw, pc := p.Source.ImageShape(); ph != h || pw != w || pc != ch || p.Source.Len() == 0 {
			return fmt.Errorf("study: pool %q has %d images of %dx%dx%d; the dataset's are %dx%dx%d", p.Name, p.Source.Len(), ph, pw, pc, h, w, ch)
		}
	}
	if len(c.PretrainOn) == 0 {
		return fmt.Errorf("study: PretrainOn is empty (list %q and/or pool names)", OwnImages)
	}
	for _, on := range c.PretrainOn {
		if !names[on] {
			return fmt.Errorf("study: PretrainOn %q is neither %q nor a pool's name", on, OwnImages)
		}
	}
	if hasDup(c.PretrainOn) {
		return fmt.Errorf("study: PretrainOn lists a source twice")
	}
	tests := map[string]bool{"test": true}
	for _, t := range c.ExternalTests {
		s := t.Split
		if t.Name == "" || tests[t.Name] || s == nil || s.N == 0 {
			return fmt.Errorf("study: external test set %q: every one needs images and its own name (not \"test\")", t.Name)
		}
		tests[t.Name] = true
		ds := c.Dataset
		if sh, sw, sc := s.ImageShape(); sh != h || sw != w || sc != ch || s.NumClasses != ds.NumClasses || s.LabelDim != ds.Train.LabelDim {
			return fmt.Errorf("study: external test set %q: %dx%dx%d images with %d classes; the dataset %s has %dx%dx%d with %d",
				t.Name, sh, sw, sc, s.NumClasses, ds.Name, h, w, ch, ds.NumClasses)
		}
	}
	return nil
}

// testSetNames lists the study's test sets: "test" (the internal one), then the external ones.
func (c *Config) testSetNames() []string {
	names := []string{InternalTest}
	for _, t := range c.ExternalTests {
		names = append(names, t.Name)
	}
	return names
}

// pool returns the pool named name.
func (c *Config) pool(name string) (Pool, bool) {
	i := slices.IndexFunc(c.Pools, func(p Pool) bool { return p.Name == name })
	if i < 0 {
		return Pool{}, false
	}
	return c.Pools[i], true
}
