package seg

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
)

// nibabelReading is one file of nibabel.json (see nibabel_readings.py beside it).
type nibabelReading struct {
	Shape  []int          `json:"shape"`
	Dtype  string         `json:"dtype"`
	Affine [4][4]float64  `json:"affine"`
	MD5    string         `json:"md5"`
	Sum    float64        `json:"sum"`
	Voxels [][4]float64   `json:"voxels"`
	Counts map[string]int `json:"counts"`
}

func nibabelReadings(t *testing.T) map[string]nibabelReading {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(hippocampusDir(t), "nibabel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Files map[string]nibabelReading `json:"files"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	return j.Files
}

// digest is the MD5 of float32 little-endian voxels, nibabel.json's "md5".
func digest(vox []float32) string {
	b := make([]byte, 4*len(vox))
	for i, v := range vox {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestLoadNIfTIEqualsNibabel: every image and label volume of the fixtures reads as
// nibabel reads it: shape, affine, every voxel (MD5 of the float32 voxels in nibabel's
// Fortran order, the order of data.Volume.Data), the label counts, and a few voxels by
// index. The fixtures mix uint8 and float32 images and labels.
func TestLoadNIfTIEqualsNibabel(t *testing.T) {
	want := nibabelReadings(t)
	s := loadHippocampus(t)
	if len(s.Cases) != 8 || s.NumClasses != 3 || len(s.Skipped) != 0 {
		t.Fatalf("%d cases, %d classes, skipped %v; want 8 cases of 3 classes", len(s.Cases), s.NumClasses, s.Skipped)
	}
	dtypes := map[string]bool{}
	for _, c := range s.Cases {
		labels := make([]float32, len(c.Labels))
		for i, v := range c.Labels {
			labels[i] = float32(v)
		}
		for _, f := range []struct {
			file string
			vox  []float32
		}{{c.ImageFile, c.Image.Data}, {c.LabelFile, labels}} {
			w, ok := want[f.file]
			if !ok {
				t.Fatalf("%s: not in nibabel.json", f.file)
			}
			dtypes[w.Dtype] = true
			if !slices.Equal(c.Image.Dims[:3], w.Shape) {
				t.Errorf("%s: dims %v, nibabel %v", f.file, c.Image.Dims, w.Shape)
			}
			if c.Image.Affine != w.Affine {
				t.Errorf("%s: affine %v, nibabel %v", f.file, c.Image.Affine, w.Affine)
			}
			if got := digest(f.vox); got != w.MD5 {
				t.Errorf("%s: voxel digest %s, nibabel %s", f.file, got, w.MD5)
			}
			var sum float64
			for _, v := range f.vox {
				sum += float64(v)
			}
			if math.Abs(sum-w.Sum) > 1e-6*math.Abs(w.Sum) {
				t.Errorf("%s: sum %v, nibabel %v", f.file, sum, w.Sum)
			}
			d := c.Image.Dims
			for _, v := range w.Voxels {
				i, j, k := int(v[0]), int(v[1]), int(v[2])
				if got := f.vox[i+d[0]*(j+d[1]*k)]; float64(got) != float64(float32(v[3])) {
					t.Errorf("%s: voxel (%d,%d,%d) = %v, nibabel %v", f.file, i, j, k, got, v[3])
				}
			}
			if w.Counts != nil {
				counts := map[string]int{}
				for _, v := range c.Labels {
					counts[string('0'+rune(v))]++
				}
				if len(counts) != len(w.Counts) {
					t.Errorf("%s: label counts %v, nibabel %v", f.file, counts, w.Counts)
				}
				for k, n := range w.Counts {
					if counts[k] != n {
						t.Errorf("%s: %d voxels of label %s, nibabel %d", f.file, counts[k], k, n)
					}
				}
			}
		}
	}
	if !dtypes["uint8"] || !dtypes["float32"] {
		t.Errorf("fixtures cover types %v, want uint8 and float32", dtypes)
	}
}

// copyCase copies fixture case n's image and label into dir/images and dir/labels,
// under the names imgName and lblName.
func copyCase(t *testing.T, dir, n, imgName, lblName string) {
	t.Helper()
	src := hippocampusDir(t)
	for _, f := range [][2]string{{"images/hippocampus_" + n + ".nii.gz", "images/" + imgName}, {"labels/hippocampus_" + n + ".nii.gz", "labels/" + lblName}} {
		if f[1] == "images/" || f[1] == "labels/" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f[1])), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f[1]), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoadNIfTIBadInputsNameTheFile: each kind of bad folder is an error naming the
// offending file and matching the right sentinel; with SkipBadFiles the good cases load
// and the bad files are listed, never dropped silently.
func TestLoadNIfTIBadInputsNameTheFile(t *testing.T) {
	small := func(v float32) []float32 { return slices.Repeat([]float32{v}, 2*3*4) }
	shifted := identity
	shifted[0][3] = 0.5
	for _, tc := range []struct {
		name, file string
		kind       error
		setup      func(t *testing.T, dir string)
	}{
		{"image without label", "images/extra.nii.gz", ErrUnmatched, func(t *testing.T, dir string) {
			copyCase(t, dir, "165", "extra.nii.gz", "")
		}},
		{"label without image", "labels/orphan.nii.gz", ErrUnmatched, func(t *testing.T, dir string) {
			copyCase(t, dir, "165", "", "orphan.nii.gz")
		}},
		{"shapes differ", "labels/mixed.nii.gz", ErrGeometry, func(t *testing.T, dir string) {
			copyCase(t, dir, "165", "mixed.nii.gz", "")
			copyCase(t, dir, "148", "", "mixed.nii.gz") // 34x48x32 against 34x49x29
		}},
		{"affines differ", "labels/moved.nii", ErrGeometry, func(t *testing.T, dir string) {
			writeNIfTI(t, filepath.Join(dir, "images", "moved.nii"), [3]int{2, 3, 4}, identity, small(7))
			writeNIfTI(t, filepath.Join(dir, "labels", "moved.nii"), [3]int{2, 3, 4}, shifted, small(1))
		}},
		{"non-integer label", "labels/frac.nii", data.ErrLabel, func(t *testing.T, dir string) {
			lbl := small(1)
			lbl[5] = 1.5
			writeNIfTI(t, filepath.Join(dir, "images", "frac.nii"), [3]int{2, 3, 4}, identity, small(7))
			writeNIfTI(t, filepath.Join(dir, "labels", "frac.nii"), [3]int{2, 3, 4}, identity, lbl)
		}},
		{"negative label", "labels/neg.nii", data.ErrLabel, func(t *testing.T, dir string) {
			lbl := small(0)
			lbl[0] = -1
			writeNIfTI(t, filepath.Join(dir, "images", "neg.nii"), [3]int{2, 3, 4}, identity, small(7))
			writeNIfTI(t, filepath.Join(dir, "labels", "neg.nii"), [3]int{2, 3, 4}, identity, lbl)
		}},
		{"not NIfTI", "labels/notes.txt", data.ErrUnsupported, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "labels", "notes.txt"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"corrupt image", "images/broken.nii", data.ErrFormat, func(t *testing.T, dir string) {
			copyCase(t, dir, "165", "", "broken.nii.gz")
			if err := os.WriteFile(filepath.Join(dir, "images", "broken.nii"), []byte("not a nifti file at all"), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyCase(t, dir, "149", "good.nii.gz", "good.nii.gz")
			tc.setup(t, dir)
			_, err := LoadNIfTI(dir)
			if err == nil || !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.file) {
				t.Fatalf("err = %v, want %v naming %s", err, tc.kind, tc.file)
			}
			s, err := LoadNIfTI(dir, SkipBadFiles())
			if err != nil {
				t.Fatalf("SkipBadFiles: %v", err)
			}
			if len(s.Cases) != 1 || s.Cases[0].Name != "good" {
				t.Errorf("SkipBadFiles kept %d cases, want the good one", len(s.Cases))
			}
			listed := false
			for _, b := range s.Skipped {
				listed = listed || b.File == tc.file
			}
			if !listed {
				t.Errorf("SkipBadFiles: %s not listed in Skipped %v", tc.file, s.Skipped)
			}
		})
	}
}

// TestLoadNIfTIMatchesChannelSuffix: nnU-Net's image names (case_0000) match their label.
func TestLoadNIfTIMatchesChannelSuffix(t *testing.T) {
	dir := t.TempDir()
	copyCase(t, dir, "165", "a_0000.nii.gz", "a.nii.gz")
	s, err := LoadNIfTI(dir)
	if err != nil || len(s.Cases) != 1 || s.Cases[0].Name != "a" {
		t.Fatalf("LoadNIfTI = %+v, %v; want one case named a", s, err)
	}
}

// TestSplitSelectFraction: the split puts every case in exactly one split, Select cuts by
// it and refuses a foreign manifest, and label fractions count volumes and are nested.
func TestSplitSelectFraction(t *testing.T) {
	s := loadHippocampus(t)
	m, err := s.Split(data.SplitFractions{Train: 0.5, Val: 0.25, Test: 0.25}, 3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	total := 0
	for _, sp := range data.SplitNames() {
		part, err := s.Select(m, sp)
		if err != nil {
			t.Fatal(err)
		}
		total += len(part.Cases)
		for _, c := range part.Cases {
			if prev, dup := seen[c.Name]; dup {
				t.Errorf("case %s in %s and %s", c.Name, prev, sp)
			}
			seen[c.Name] = sp
		}
	}
	if total != len(s.Cases) {
		t.Errorf("splits hold %d cases, the set %d", total, len(s.Cases))
	}
	foreign := *m
	foreign.Entries = append(slices.Clone(m.Entries), data.ManifestEntry{File: "images/x.nii.gz", Patient: "x", Split: "train"})
	if _, err := s.Select(&foreign, "train"); !errors.Is(err, data.ErrArgument) {
		t.Errorf("foreign manifest: %v, want ErrArgument", err)
	}
	var prev []string
	for _, f := range []float64{0.1, 0.25, 0.5, 1} {
		sub, err := s.LabelFraction(f, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := min(8, max(1, int(math.Round(f*8))))
		var names []string
		for _, c := range sub.Cases {
			names = append(names, c.Name)
		}
		if len(names) != want {
			t.Errorf("fraction %v: %d cases, want %d", f, len(names), want)
		}
		for _, p := range prev {
			if !slices.Contains(names, p) {
				t.Errorf("fraction %v drops %s, kept at a smaller fraction", f, p)
			}
		}
		prev = names
	}
	if _, err := s.LabelFraction(0, 1); !errors.Is(err, data.ErrArgument) {
		t.Errorf("fraction 0: %v, want ErrArgument", err)
	}
}
