package data

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/internal/testutil/npztest"

	"github.com/sbinet/npyio/npy"

	"github.com/medssl/medssl/internal/testdata"
)

// Split sizes and class counts from the MedMNIST release notes (internal/testdata/files/README.md).
type want struct {
	n      int
	counts []int
}

func checkSplit(t *testing.T, s *Split, name string, w want) {
	t.Helper()
	if s.Name != name || s.N != w.n || s.Height != 28 || s.Width != 28 || s.Channels != 1 || s.LabelDim != 1 {
		t.Errorf("%s: got name %q N=%d %dx%dx%d labelDim %d, want N=%d 28x28x1 labelDim 1",
			name, s.Name, s.N, s.Height, s.Width, s.Channels, s.LabelDim, w.n)
	}
	if len(s.Images) != w.n*28*28 || len(s.Labels) != w.n {
		t.Errorf("%s: %d image bytes and %d labels, want %d and %d", name, len(s.Images), len(s.Labels), w.n*784, w.n)
	}
	if got := s.ClassCounts(); !slices.Equal(got, w.counts) {
		t.Errorf("%s: class counts %v, want %v", name, got, w.counts)
	}
}

func TestBreastMNISTReal(t *testing.T) {
	fromFile, err := LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	embedded, err := BreastMNIST()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []*Dataset{fromFile, embedded} {
		if d.Name != "breastmnist" || !d.Known || d.Task != Binary || d.NumClasses != 2 {
			t.Errorf("got %q known=%v task %v classes %d, want breastmnist binary 2", d.Name, d.Known, d.Task, d.NumClasses)
		}
		checkSplit(t, d.Train, "train", want{546, []int{147, 399}})
		checkSplit(t, d.Val, "val", want{78, []int{21, 57}})
		checkSplit(t, d.Test, "test", want{156, []int{42, 114}})
	}
	// The embedded copy is the same release as the shared file.
	for i, s := range fromFile.Splits() {
		e := embedded.Splits()[i]
		if !bytes.Equal(s.Images, e.Images) || !slices.Equal(s.Labels, e.Labels) {
			t.Errorf("%s: embedded copy differs from the shared file", s.Name)
		}
	}
	// Real ultrasound images are not blank: they use most of the byte range.
	lo, hi := slices.Min(fromFile.Train.Images), slices.Max(fromFile.Train.Images)
	if lo > 10 || hi < 245 {
		t.Errorf("train pixel range [%d, %d], want close to [0, 255]", lo, hi)
	}
}

func TestPneumoniaImbalancedReal(t *testing.T) {
	d, err := LoadMedMNIST(testdata.Path(t, "pneumoniamnist_imbalanced.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "pneumoniamnist_imbalanced" || !d.Known || d.Task != Binary || d.NumClasses != 2 {
		t.Errorf("got %q known=%v task %v classes %d, want pneumoniamnist binary 2", d.Name, d.Known, d.Task, d.NumClasses)
	}
	checkSplit(t, d.Train, "train", want{3882, []int{388, 3494}})
	checkSplit(t, d.Val, "val", want{524, []int{135, 389}})
	checkSplit(t, d.Test, "test", want{624, []int{234, 390}})
}

func TestLookupSet(t *testing.T) {
	cases := []struct {
		file  string
		name  string
		task  Task
		class int
	}{
		{"pneumoniamnist_imbalanced.npz", "pneumoniamnist", Binary, 2},
		{"/x/y/pathmnist_64.npz", "pathmnist", MultiClass, 9},
		{`C:\d\ChestMNIST.npz`, "chestmnist", MultiLabel, 14},
		{"retinamnist_224.npz", "retinamnist", Ordinal, 5},
		{"organsmnist.npz", "organsmnist", MultiClass, 11},
		{"tissuemnist-128.npz", "tissuemnist", MultiClass, 8},
	}
	for _, c := range cases {
		info, ok := LookupSet(c.file)
		if !ok || info.Name != c.name || info.Task != c.task || info.NumClasses != c.class {
			t.Errorf("LookupSet(%q) = %+v, %v; want %s %v %d", c.file, info, ok, c.name, c.task, c.class)
		}
	}
	for _, f := range []string{"mnist.npz", "breastmnistx.npz", "my_breastmnist.npz"} {
		if info, ok := LookupSet(f); ok {
			t.Errorf("LookupSet(%q) = %+v, want no match", f, info)
		}
	}
	if len(KnownSets) != 12 {
		t.Errorf("%d known sets, MedMNIST v2 has 12 2D sets", len(KnownSets))
	}
}

func TestTaskString(t *testing.T) {
	got := []string{Binary.String(), MultiClass.String(), Ordinal.String(), MultiLabel.String(), Task(9).String()}
	wantS := []string{"binary-class", "multi-class", "ordinal-regression", "multi-label", "Task(9)"}
	if !slices.Equal(got, wantS) {
		t.Errorf("got %v, want %v", got, wantS)
	}
}

func TestRGBFixture(t *testing.T) {
	// 3 RGB 28x28 images; pixel (i, y, x, c) = (i*7 + y*3 + x*5 + c*11) mod 256.
	mk := func(n int) [][28][28][3]uint8 {
		img := make([][28][28][3]uint8, n)
		for i := range img {
			for y := 0; y < 28; y++ {
				for x := 0; x < 28; x++ {
					for c := 0; c < 3; c++ {
						img[i][y][x][c] = uint8(i*7 + y*3 + x*5 + c*11)
					}
				}
			}
		}
		return img
	}
	lbl := func(n int) []uint8 { // [N] labels, classes 0..6
		l := make([]uint8, n)
		for i := range l {
			l[i] = uint8((i * 3) % 7)
		}
		return l
	}
	b := npztest.Write(t,
		npztest.Entry{Key: "train_images", Val: mk(3)}, npztest.Entry{Key: "train_labels", Val: lbl(3)},
		npztest.Entry{Key: "val_images", Val: mk(2)}, npztest.Entry{Key: "val_labels", Val: lbl(2)},
		npztest.Entry{Key: "test_images", Val: mk(2)}, npztest.Entry{Key: "test_labels", Val: lbl(2)},
	)
	d, err := ReadMedMNISTBytes(b, "dermamnist.npz")
	if err != nil {
		t.Fatal(err)
	}
	s := d.Train
	if d.Task != MultiClass || d.NumClasses != 7 || s.N != 3 || s.Height != 28 || s.Width != 28 || s.Channels != 3 || s.LabelDim != 1 {
		t.Fatalf("got task %v classes %d N=%d %dx%dx%d labelDim %d", d.Task, d.NumClasses, s.N, s.Height, s.Width, s.Channels, s.LabelDim)
	}
	for i := 0; i < 3; i++ {
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				for c := 0; c < 3; c++ {
					if got, w := s.Images[((i*28+y)*28+x)*3+c], uint8(i*7+y*3+x*5+c*11); got != w {
						t.Fatalf("pixel (%d,%d,%d,%d) = %d, want %d", i, y, x, c, got, w)
					}
				}
			}
		}
		if s.Label(i) != (i*3)%7 {
			t.Errorf("label %d = %d, want %d", i, s.Label(i), (i*3)%7)
		}
	}
}

func multiLabelNpz(t testing.TB, L int) []byte {
	mk := func(n int) [][]uint8 {
		l := make([][]uint8, n)
		for i := range l {
			l[i] = make([]uint8, L)
			for j := range l[i] {
				l[i][j] = uint8((i + j) % 3 % 2)
			}
		}
		return l
	}
	// npy.Write needs fixed-size rows: copy into arrays of the widest size used here.
	rows := func(n int) any {
		switch L {
		case 14:
			out := make([][14]uint8, n)
			for i, r := range mk(n) {
				copy(out[i][:], r)
			}
			return out
		default:
			out := make([][3]uint8, n)
			for i, r := range mk(n) {
				copy(out[i][:], r)
			}
			return out
		}
	}
	return npztest.Write(t,
		npztest.Entry{Key: "train_images", Val: gray4(5)}, npztest.Entry{Key: "train_labels", Val: rows(5)},
		npztest.Entry{Key: "val_images", Val: gray4(2)}, npztest.Entry{Key: "val_labels", Val: rows(2)},
		npztest.Entry{Key: "test_images", Val: gray4(2)}, npztest.Entry{Key: "test_labels", Val: rows(2)},
	)
}

func TestMultiLabelFixture(t *testing.T) {
	d, err := ReadMedMNISTBytes(multiLabelNpz(t, 14), "chestmnist.npz")
	if err != nil {
		t.Fatal(err)
	}
	s := d.Train
	if d.Task != MultiLabel || d.NumClasses != 14 || s.LabelDim != 14 || s.N != 5 || s.Channels != 1 || s.Height != 4 {
		t.Fatalf("got task %v classes %d labelDim %d N %d C %d H %d", d.Task, d.NumClasses, s.LabelDim, s.N, s.Channels, s.Height)
	}
	wantCounts := make([]int, 14)
	for i := 0; i < 5; i++ {
		for j := 0; j < 14; j++ {
			v := (i + j) % 3 % 2
			if got := s.LabelRow(i)[j]; int(got) != v {
				t.Fatalf("label (%d,%d) = %d, want %d", i, j, got, v)
			}
			wantCounts[j] += v
		}
	}
	if got := s.ClassCounts(); !slices.Equal(got, wantCounts) {
		t.Errorf("ClassCounts %v, want %v", got, wantCounts)
	}
	// An unknown name with 3 labels per image is inferred as multi-label.
	d, err = ReadMedMNISTBytes(multiLabelNpz(t, 3), "mychest.npz")
	if err != nil {
		t.Fatal(err)
	}
	if d.Known || d.Task != MultiLabel || d.NumClasses != 3 {
		t.Errorf("inferred known=%v %v %d, want multi-label 3", d.Known, d.Task, d.NumClasses)
	}
	// ChestMNIST must have 14 labels.
	_, err = ReadMedMNISTBytes(multiLabelNpz(t, 3), "chestmnist.npz")
	wantErr(t, err, ErrShape, "chestmnist.npz: train_labels: 3 labels per example")
}

func TestInferAndOverride(t *testing.T) {
	lbl := func(n, k int) []uint8 {
		l := make([]uint8, n)
		for i := range l {
			l[i] = uint8(i % k)
		}
		return l
	}
	mk := func(k int) []byte {
		return npztest.Write(t,
			npztest.Entry{Key: "train_images", Val: gray4(6)}, npztest.Entry{Key: "train_labels", Val: lbl(6, k)},
			npztest.Entry{Key: "val_images", Val: gray4(2)}, npztest.Entry{Key: "val_labels", Val: lbl(2, 2)},
			npztest.Entry{Key: "test_images", Val: gray4(2)}, npztest.Entry{Key: "test_labels", Val: lbl(2, 2)},
		)
	}
	d, err := ReadMedMNISTBytes(mk(5), "custom.npz")
	if err != nil {
		t.Fatal(err)
	}
	if d.Known || d.Name != "custom" || d.Task != MultiClass || d.NumClasses != 5 {
		t.Errorf("inferred %q known=%v %v %d, want custom multi-class 5", d.Name, d.Known, d.Task, d.NumClasses)
	}
	if got := d.Train.ClassCounts(); !slices.Equal(got, []int{2, 1, 1, 1, 1}) { // labels 0,1,2,3,4,0
		t.Errorf("train counts %v, want [2 1 1 1 1]", got)
	}
	d, err = ReadMedMNISTBytes(mk(2), "custom.npz")
	if err != nil || d.Task != Binary || d.NumClasses != 2 {
		t.Errorf("binary inference: %v %v %v", d.Task, d.NumClasses, err)
	}
	d, err = ReadMedMNISTBytes(mk(5), "custom.npz", WithTask(Ordinal, 6))
	if err != nil || d.Task != Ordinal || d.NumClasses != 6 || d.Train.NumClasses != 6 || len(d.Train.ClassCounts()) != 6 {
		t.Errorf("override: %+v %v", d, err)
	}
	// Override is still validated against the labels.
	_, err = ReadMedMNISTBytes(mk(5), "custom.npz", WithTask(MultiClass, 3))
	wantErr(t, err, ErrLabel, "custom.npz: train_labels: example 3 has label 3, want [0, 3)")
	_, err = ReadMedMNISTBytes(mk(5), "custom.npz", WithTask(Binary, 5))
	wantErr(t, err, ErrArgument, "custom.npz: WithTask: 5 classes for a binary-class task")
	// A label far beyond the others (a 5-class file with one validation label 250) is a
	// sparse or corrupted label, not a 251-class task; declaring the classes accepts it.
	sparse := lbl(2, 2)
	sparse[1] = 250
	bad := npztest.Rewrite(t, mk(5), map[string]any{"val_labels": sparse}, "")
	_, err = ReadMedMNISTBytes(bad, "custom.npz")
	wantErr(t, err, ErrLabel, "custom.npz: val_labels: example 1 has label 250, but only 6 distinct labels occur in the file and class 5 never does")
	if d, err := ReadMedMNISTBytes(bad, "custom.npz", WithTask(MultiClass, 251)); err != nil || d.NumClasses != 251 {
		t.Errorf("declared 251 classes: %v", err)
	}
	// A known name's table entry wins over inference: breastmnist labels must be 0/1.
	_, err = ReadMedMNISTBytes(mk(5), "breastmnist.npz")
	wantErr(t, err, ErrLabel, "breastmnist.npz: train_labels: example 2 has label 2, want [0, 2)")
}

// wantErr checks that err wraps kind and that its message contains msg, after "data: ".
func wantErr(t *testing.T, err error, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Errorf("got no error, want %v %q", kind, msg)
		return
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q does not wrap %v", err, kind)
	}
	if !strings.HasPrefix(err.Error(), "data: ") || !strings.Contains(err.Error(), msg) {
		t.Errorf("error %q does not contain %q", err, msg)
	}
}

func TestBrokenFiles(t *testing.T) {
	real := realBytes(t, "breastmnist.npz")
	read := func(b []byte) error {
		_, err := ReadMedMNISTBytes(b, "breastmnist.npz")
		return err
	}
	// A .npy entry whose header promises more data than follows.
	var short bytes.Buffer
	if err := npy.Write(&short, make([][1]uint8, 78)); err != nil {
		t.Fatal(err)
	}
	shortNpy := npztest.Raw(short.Bytes()[:short.Len()-5])

	// Corrupt one byte inside the first entry's compressed data (past its local header).
	flipped := bytes.Clone(real)
	flipped[2000] ^= 0xFF

	labelsOut := make([][1]uint8, 546)
	copy(labelsOut, []([1]uint8){{1}, {0}, {1}})
	labelsOut[5][0] = 2

	cases := []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"truncated half", real[:len(real)/2], ErrFormat, "breastmnist.npz: not a readable .npz (zip) archive"},
		{"truncated tail", real[:len(real)-10], ErrFormat, "breastmnist.npz: not a readable .npz (zip) archive"},
		{"empty", nil, ErrFormat, "breastmnist.npz: not a readable .npz (zip) archive"},
		{"not zip", []byte("hello, this is not a zip file at all"), ErrFormat, "breastmnist.npz: not a readable"},
		{"flipped byte", flipped, ErrFormat, "breastmnist.npz: train_images: "},
		{"missing key", npztest.Rewrite(t, real, nil, "val_labels"), ErrMissingKey, "breastmnist.npz: val_labels: array missing from archive"},
		{"float32 images", npztest.Rewrite(t, real, map[string]any{"test_images": make([][28][28]float32, 156)}, ""),
			ErrDType, `breastmnist.npz: test_images: dtype "<f4", want uint8`},
		{"int64 labels", npztest.Rewrite(t, real, map[string]any{"train_labels": make([][1]int64, 546)}, ""),
			ErrDType, `breastmnist.npz: train_labels: dtype "<i8", want uint8`},
		{"mismatched N", npztest.Rewrite(t, real, map[string]any{"val_labels": make([][1]uint8, 77)}, ""),
			ErrShape, "breastmnist.npz: val_labels: shape [77 1] does not match val_images [78 28 28]"},
		{"non-square", npztest.Rewrite(t, real, map[string]any{"val_images": make([][28][27]uint8, 78)}, ""),
			ErrShape, "breastmnist.npz: val_images: shape [78 28 27], want N > 0 square images"},
		{"size differs", npztest.Rewrite(t, real, map[string]any{"test_images": make([][32][32]uint8, 156)}, ""),
			ErrShape, "breastmnist.npz: test_images: images are 32x32x1, train_images are 28x28x1"},
		{"2 channels", npztest.Rewrite(t, real, map[string]any{"val_images": make([][28][28][2]uint8, 78)}, ""),
			ErrShape, "breastmnist.npz: val_images: shape [78 28 28 2], want [N H W] or [N H W C] with C 1 or 3"},
		{"flat images", npztest.Rewrite(t, real, map[string]any{"val_images": make([]uint8, 78*784)}, ""),
			ErrShape, "breastmnist.npz: val_images: shape [61152]"},
		{"multi-label for binary set", npztest.Rewrite(t, real, map[string]any{
			"train_labels": make([][2]uint8, 546), "val_labels": make([][2]uint8, 78), "test_labels": make([][2]uint8, 156)}, ""),
			ErrShape, "breastmnist.npz: train_labels: 2 labels per example for a binary-class task, want 1"},
		{"label dims differ", npztest.Rewrite(t, real, map[string]any{"val_labels": make([]uint8, 78), "test_labels": make([][2]uint8, 156)}, ""),
			ErrShape, "breastmnist.npz: test_labels: 2 labels per example, train_labels has 1"},
		{"label out of range", npztest.Rewrite(t, real, map[string]any{"train_labels": labelsOut}, ""),
			ErrLabel, "breastmnist.npz: train_labels: example 5 has label 2, want [0, 2)"},
		{"truncated npy data", npztest.Rewrite(t, real, map[string]any{"val_labels": shortNpy}, ""),
			ErrFormat, "breastmnist.npz: val_labels: shape [78 1] needs 78 data bytes, entry holds 73"},
		{"bad npy magic", npztest.Rewrite(t, real, map[string]any{"val_labels": npztest.Raw("NOTNUMPY-this is text")}, ""),
			ErrFormat, "breastmnist.npz: val_labels: not a .npy array (bad magic)"},
		{"garbled npy header", npztest.Rewrite(t, real, map[string]any{"val_labels": npztest.Raw("\x93NUMPY\x01\x00\x08\x00{}      ")}, ""),
			ErrFormat, "breastmnist.npz: val_labels: cannot parse .npy header"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := read(c.data)
			t.Log(err)
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// The untouched file still loads, so the failures above come from the edits.
	if err := read(npztest.Rewrite(t, real, nil, "")); err != nil {
		t.Errorf("unmodified copy: %v", err)
	}
}
