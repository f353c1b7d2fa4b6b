package data

import (
	"fmt"
	"strings"
)

// Task is the kind of prediction task a MedMNIST set poses.
type Task int

const (
	// Binary: one label per image, two classes.
	Binary Task = iota
	// MultiClass: one label per image, more than two unordered classes.
	MultiClass
	// Ordinal: one label per image, ordered classes (RetinaMNIST's severity grades).
	Ordinal
	// MultiLabel: L independent 0/1 labels per image (ChestMNIST's 14 findings).
	MultiLabel
)

// String returns the task's name as MedMNIST's INFO table spells it.
func (t Task) String() string {
	switch t {
	case Binary:
		return "binary-class"
	case MultiClass:
		return "multi-class"
	case Ordinal:
		return "ordinal-regression"
	case MultiLabel:
		return "multi-label"
	}
	return fmt.Sprintf("Task(%d)", int(t))
}

// SingleLabel reports whether each example has exactly one class.
func (t Task) SingleLabel() bool { return t != MultiLabel }

// SetInfo describes a known MedMNIST set: what the file cannot tell.
type SetInfo struct {
	Name       string // lower-case flag name, e.g. "pathmnist"
	Task       Task
	NumClasses int // classes, or labels per image for MultiLabel
	Channels   int // 1 grayscale, 3 RGB
}

// KnownSets lists the MedMNIST v2 2D sets (Yang et al. 2023, Table 1).
var KnownSets = []SetInfo{
	{"pathmnist", MultiClass, 9, 3},
	{"chestmnist", MultiLabel, 14, 1},
	{"dermamnist", MultiClass, 7, 3},
	{"octmnist", MultiClass, 4, 1},
	{"pneumoniamnist", Binary, 2, 1},
	{"retinamnist", Ordinal, 5, 3},
	{"breastmnist", Binary, 2, 1},
	{"bloodmnist", MultiClass, 8, 3},
	{"tissuemnist", MultiClass, 8, 1},
	{"organamnist", MultiClass, 11, 1},
	{"organcmnist", MultiClass, 11, 1},
	{"organsmnist", MultiClass, 11, 1},
}

// LookupSet finds the known set a file name refers to: the base name, lower-cased and
// without ".npz", must equal a set's name or start with it followed by '_' or '-'
// ("pneumoniamnist_imbalanced.npz", "pathmnist_64.npz").
func LookupSet(fileName string) (SetInfo, bool) {
	stem := strings.ToLower(baseName(fileName))
	stem = strings.TrimSuffix(stem, ".npz")
	for _, s := range KnownSets {
		if rest, ok := strings.CutPrefix(stem, s.Name); ok && (rest == "" || rest[0] == '_' || rest[0] == '-') {
			return s, true
		}
	}
	return SetInfo{}, false
}

// baseName is filepath.Base for both / and \ separators, so names from any OS match.
func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}
