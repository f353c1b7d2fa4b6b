// Package testdata locates the real MedMNIST files that tests run on.
//
// The files live in the workspace's shared/data folder, beside the repository
// (../shared/data from the repository root); MEDSSL_DATA overrides the folder.
package testdata

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the folder holding the shared MedMNIST files, or "" if none is found.
func Dir() string {
	if d := os.Getenv("MEDSSL_DATA"); d != "" {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			candidate := filepath.Join(dir, "..", "shared", "data")
			if _, err := os.Stat(candidate); err == nil {
				return candidate
			}
			return ""
		}
		if filepath.Dir(dir) == dir {
			return ""
		}
	}
}

// Path returns the path of the named shared data file, failing the test when it is
// missing: tests on real data must not silently turn into skips.
func Path(t testing.TB, name string) string {
	t.Helper()
	dir := Dir()
	if dir == "" {
		t.Fatalf("shared data folder not found: put the MedMNIST files in ../shared/data beside the repository or set MEDSSL_DATA")
	}
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared data file %s: %v", p, err)
	}
	return p
}
