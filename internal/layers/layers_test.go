// Package layers holds the test that keeps medssl's packages layered along its data flow.
package layers

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/internal/testdata"
)

const module = "github.com/medssl/medssl"

// rank orders the packages along the data flow data → augment → models → ssl / supervised
// → eval: a package may import only packages of a lower rank. eval/metrics is a leaf any
// layer may use; ssl and supervised share a rank, so neither imports the other.
var rank = map[string]float64{
	"eval/metrics":       0,
	"data":               1,
	"data/dicom":         1.5,
	"data/nifti":         1.5,
	"data/folder":        1.5,
	"data/stream":        1.6,
	"data/seg":           1.6,
	"augment":            2,
	"models":             3,
	"models/optim":       3.2,
	"internal/trainutil": 3.5,
	"ssl/ema":            3.9,
	"ssl":                4,
	"supervised":         4,
	"eval":               5,
	"eval/segment":       5.2,
	"eval/plot":          5.5,
	"eval/explain":       5.5,
	"eval/study":         6,
	"":                   7, // the root package: the backend choice, for examples and tests
}

// rankOf returns the rank of a package path relative to the module; examples are above
// everything, test helpers (internal/test*) are for tests only.
func rankOf(t *testing.T, rel string) (float64, bool) {
	if strings.HasPrefix(rel, "examples") {
		return 10, true
	}
	if strings.HasPrefix(rel, "internal/test") || rel == "internal/layers" {
		return 0, false
	}
	r, ok := rank[rel]
	if !ok {
		t.Errorf("package %q has no rank: add it to the table", rel)
	}
	return r, ok
}

// No non-test file imports a package of its own rank or above (go list -deps would show
// the same through transitive imports; direct imports are what keeps them out).
func TestPackagesImportOnlyLowerLayers(t *testing.T) {
	root := testdata.Root()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		relDir, _ := filepath.Rel(root, filepath.Dir(path))
		relDir = filepath.ToSlash(relDir)
		if relDir == "." {
			relDir = ""
		}
		from, ok := rankOf(t, relDir)
		if !ok {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
			to, ok := rankOf(t, rel)
			if !ok {
				if strings.HasPrefix(rel, "internal/test") {
					t.Errorf("%s imports the test helper %s", path, p)
				}
				continue
			}
			checked++
			if to >= from && !(strings.HasPrefix(relDir, "examples") && to == 10) {
				t.Errorf("%s (layer %q) imports %s, a package at or above its layer", path, relDir, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d imports checked: the walk missed the packages", checked)
	}
}
