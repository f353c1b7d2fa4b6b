// Package cli holds what every example's command line shares: the same flag syntax for the
// same things (comma-separated lists, seeds, an encoder by name, a MedMNIST file or the
// embedded BreastMNIST) and the same error handling (one line naming the program and the
// problem, exit status 1).
package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/models"
)

// Fatal prints "<program>: <err>" to stderr and exits with status 1.
func Fatal(err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", filepath.Base(os.Args[0]), err)
	os.Exit(1)
}

// Dataset loads the MedMNIST .npz file at path, or the embedded BreastMNIST when path is
// empty.
func Dataset(path string) (*data.Dataset, error) {
	if path == "" {
		return data.BreastMNIST()
	}
	return data.LoadMedMNIST(path)
}

// Encoder returns the encoder a name describes (models.ParseEncoder: "resnet18-w16",
// "resnet50", "vit-tiny/4", ...), naming the flag on error.
func Encoder(flagName, name string) (models.Encoder, error) {
	enc, err := models.ParseEncoder(name)
	if err != nil {
		return nil, fmt.Errorf("-%s: %w", flagName, err)
	}
	return enc, nil
}

// List splits a comma-separated flag value, dropping blanks.
func List(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// Floats parses a comma-separated list of numbers, naming the flag on error.
func Floats(flagName, s string) ([]float64, error) {
	var out []float64
	for _, x := range List(s) {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil, fmt.Errorf("-%s: %q is not a number", flagName, x)
		}
		out = append(out, v)
	}
	return out, nil
}

// Seeds parses -seeds: a single number n means seeds 1..n; a list ("1,4,7", or "7," for
// seed 7 alone) means those seeds.
func Seeds(s string) ([]int64, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 || n > 1000 {
			return nil, fmt.Errorf("-seeds: %d seeds, want 1 to 1000 (or a list such as \"%d,\" for that seed alone)", n, n)
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(i + 1)
		}
		return out, nil
	}
	var out []int64
	for _, x := range List(s) {
		v, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("-seeds: %q is not an integer", x)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-seeds: no seed in %q", s)
	}
	return out, nil
}
