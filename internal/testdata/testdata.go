// Package testdata locates the real data files that medssl's tests read. Every file lives
// in this repository, so the tests pass on a bare clone: BreastMNIST is the copy embedded
// in package data (data/embedded), the other files are under internal/testdata/files (see
// files/README.md for what they are and how to credit them).
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// files maps a test file's name to its path relative to the repository root.
var files = map[string]string{
	"breastmnist.npz":               "data/embedded/breastmnist.npz",
	"pneumoniamnist_imbalanced.npz": "internal/testdata/files/pneumoniamnist_imbalanced.npz",
}

// Root returns the repository's root folder, found from this source file's location.
func Root() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Path returns the path of the named test file (a key of the table above, or a path
// relative to internal/testdata/files), failing the test when it is missing: a test on
// real data must never turn silently into a skip.
func Path(t testing.TB, name string) string {
	t.Helper()
	rel, ok := files[name]
	if !ok {
		rel = filepath.Join("internal", "testdata", "files", name)
	}
	p := filepath.Join(Root(), rel)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data file %s: %v", name, err)
	}
	return p
}
