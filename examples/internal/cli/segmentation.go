package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/seg"
)

// Plane parses a slicing plane: axial, coronal or sagittal.
func Plane(flagName, s string) (data.Plane, error) {
	for _, p := range []data.Plane{data.Axial, data.Coronal, data.Sagittal} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("-%s: %q, want axial, coronal or sagittal", flagName, s)
}

// Size parses "HxW" such as 64x48.
func Size(flagName, s string) (h, w int, err error) {
	a, b, ok := strings.Cut(s, "x")
	if ok {
		h, err = strconv.Atoi(a)
		if err == nil {
			w, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || h <= 0 || w <= 0 {
		return 0, 0, fmt.Errorf("-%s: %q, want HxW such as 64x48", flagName, s)
	}
	return h, w, nil
}

// IsNIfTIFolder tells whether dir is laid out as a segmentation set of NIfTI volumes:
// imagesTr/ and labelsTr/ (the Medical Segmentation Decathlon's layout) or images/ and
// labels/ holding .nii or .nii.gz files.
func IsNIfTIFolder(dir string) bool {
	for _, pair := range [][2]string{{"imagesTr", "labelsTr"}, {"images", "labels"}} {
		files, err := os.ReadDir(filepath.Join(dir, pair[0]))
		if err != nil {
			continue
		}
		if st, err := os.Stat(filepath.Join(dir, pair[1])); err != nil || !st.IsDir() {
			continue
		}
		for _, f := range files {
			if n := f.Name(); strings.HasSuffix(n, ".nii") || strings.HasSuffix(n, ".nii.gz") {
				return true
			}
		}
	}
	return false
}

// SegmentationSplits reads a NIfTI segmentation folder (seg.LoadNIfTI), keeps volumes of
// its volumes when volumes > 0 (drawn with seed: seg.Set.LabelFraction), and splits them by
// volume with the fractions (seg.Set.Split), writing the manifest to manifestPath unless it
// is empty.
func SegmentationSplits(dir string, volumes int, fractions data.SplitFractions, seed int64, manifestPath string) (train, val, test *seg.Set, err error) {
	set, err := seg.LoadNIfTI(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	if volumes > 0 && volumes < len(set.Cases) {
		if set, err = set.LabelFraction(float64(volumes)/float64(len(set.Cases)), seed); err != nil {
			return nil, nil, nil, err
		}
	}
	m, err := set.Split(fractions, seed)
	if err != nil {
		return nil, nil, nil, err
	}
	if manifestPath != "" {
		if err := os.MkdirAll(filepath.Dir(manifestPath), 0o755); err != nil {
			return nil, nil, nil, err
		}
		if err := data.WriteManifest(manifestPath, m); err != nil {
			return nil, nil, nil, err
		}
	}
	parts := make([]*seg.Set, 3)
	for i, name := range data.SplitNames() {
		if parts[i], err = set.Select(m, name); err != nil {
			return nil, nil, nil, err
		}
	}
	return parts[0], parts[1], parts[2], nil
}
