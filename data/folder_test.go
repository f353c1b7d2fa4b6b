package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/medssl/medssl/internal/testdata"
)

// folderTestClasses names BreastMNIST's labels 0 and 1; sorted, they keep that order.
var folderTestClasses = []string{"malignant", "normal_benign"}

// folderTestSplit returns the first n real BreastMNIST training images.
func folderTestSplit(t testing.TB, n int) *Split {
	t.Helper()
	d, err := LoadMedMNIST(testdata.Path(t, "breastmnist.npz"))
	if err != nil {
		t.Fatal(err)
	}
	return d.Train.Subset(allIndices(n))
}

// folderGray returns example i of s as an image.Gray.
func folderGray(s *Split, i int) *image.Gray {
	return &image.Gray{Pix: append([]uint8(nil), s.Image(i)...), Stride: s.Width, Rect: image.Rect(0, 0, s.Width, s.Height)}
}

// folderEncode encodes img as PNG or JPEG (quality 95).
func folderEncode(t testing.TB, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// folderWrite writes b to dir/rel, creating folders.
func folderWrite(t testing.TB, dir, rel string, b []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// folderWriteClasses writes every image of s as <class>/img<index>.<ext> and returns the
// folder.
func folderWriteClasses(t testing.TB, s *Split, format string) string {
	t.Helper()
	dir := t.TempDir()
	ext := map[string]string{"png": "png", "jpeg": "jpg"}[format]
	for i := range s.N {
		folderWrite(t, dir, fmt.Sprintf("%s/img%04d.%s", folderTestClasses[s.Label(i)], i, ext), folderEncode(t, folderGray(s, i), format))
	}
	return dir
}

// folderIndexOf parses the example index from a file name "…img0042.png".
func folderIndexOf(t testing.TB, file string) int {
	t.Helper()
	var i int
	base := file[strings.LastIndex(file, "img"):]
	if _, err := fmt.Sscanf(base, "img%04d", &i); err != nil {
		t.Fatalf("file %s: %v", file, err)
	}
	return i
}

func TestLoadImageFolderPNGExact(t *testing.T) {
	s := folderTestSplit(t, 80)
	dir := folderWriteClasses(t, s, "png")
	f, err := LoadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.Classes) != fmt.Sprint(folderTestClasses) || f.Task() != Binary || f.NumClasses() != 2 {
		t.Fatalf("classes %v task %v", f.Classes, f.Task())
	}
	got := f.Images
	if got.N != s.N || got.Height != 28 || got.Width != 28 || got.Channels != 1 || len(got.Images) != s.N*28*28 || len(f.Skipped) != 0 {
		t.Fatalf("split %d %dx%dx%d, skipped %v", got.N, got.Height, got.Width, got.Channels, f.Skipped)
	}
	for k, it := range f.Items {
		i := folderIndexOf(t, it.File)
		if !bytes.Equal(got.Image(k), s.Image(i)) {
			t.Fatalf("%s: pixels differ from the original", it.File)
		}
		if got.Label(k) != s.Label(i) || it.Label != s.Label(i) || it.Patient != it.File {
			t.Fatalf("%s: label %d (item %d), want %d; patient %q", it.File, got.Label(k), it.Label, s.Label(i), it.Patient)
		}
		if k > 0 && f.Items[k-1].File >= it.File {
			t.Fatal("items not sorted by file")
		}
	}
	// The ClassCounts of the loaded split equal those of the original.
	if fmt.Sprint(got.ClassCounts()) != fmt.Sprint(s.ClassCounts()) {
		t.Fatalf("class counts %v, want %v", got.ClassCounts(), s.ClassCounts())
	}
}

// JPEG is lossy. The loader must return exactly what Go's own decoder gives (no extra
// loss), and at quality 95 that stays close to the original: JPEG's error is the
// quantisation of 8x8 DCT coefficients, whose steps at quality 95 are 1-4 grey levels for
// the low frequencies that carry most of the energy (IJG table scaled by 0.1), so the
// mean absolute error must stay well below 2 levels; isolated pixels near sharp edges
// (speckle) may be off by more, which a max bound of 24 (10% of the range) allows.
func TestLoadImageFolderJPEG(t *testing.T) {
	s := folderTestSplit(t, 40)
	dir := folderWriteClasses(t, s, "jpeg")
	f, err := LoadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sumAbs, n float64
	maxAbs := 0.0
	for k, it := range f.Items {
		b, err := os.ReadFile(filepath.Join(dir, it.File))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		g := ref.(*image.Gray) // its Stride may exceed the width (8x8 blocks)
		for j, v := range f.Images.Image(k) {
			if g.GrayAt(j%s.Width, j/s.Width).Y != v {
				t.Fatalf("%s pixel %d: loader differs from image/jpeg", it.File, j)
			}
		}
		orig := s.Image(folderIndexOf(t, it.File))
		for j, v := range f.Images.Image(k) {
			d := math.Abs(float64(v) - float64(orig[j]))
			sumAbs, n, maxAbs = sumAbs+d, n+1, max(maxAbs, d)
		}
	}
	t.Logf("JPEG q95: mean |error| %.3f, max %v", sumAbs/n, maxAbs)
	if sumAbs/n > 2 || maxAbs > 24 {
		t.Fatalf("JPEG error: mean %.3f max %v, want <= 2 and <= 24", sumAbs/n, maxAbs)
	}
}

func TestLoadImageFolderCSV(t *testing.T) {
	s := folderTestSplit(t, 30)
	dir := t.TempDir()
	var named, numeric strings.Builder
	named.WriteString("file,label,patient\n")
	for i := range s.N {
		file := fmt.Sprintf("flat/img%04d.png", i)
		folderWrite(t, dir, file, folderEncode(t, folderGray(s, i), "png"))
		fmt.Fprintf(&named, "%s,%s,P%d\n", file, []string{"malignant", "benign"}[s.Label(i)], i/3)
		fmt.Fprintf(&numeric, "%s,%d\n", file, s.Label(i))
	}
	folderWrite(t, dir, "named.csv", []byte(named.String()))
	folderWrite(t, dir, "numeric.csv", []byte(numeric.String()))

	f, err := LoadImageFolder(dir, FolderLabelsCSV(filepath.Join(dir, "named.csv")))
	if err != nil {
		t.Fatal(err)
	}
	// Class names sorted: benign = 0 (BreastMNIST label 1), malignant = 1 (label 0).
	if fmt.Sprint(f.Classes) != "[benign malignant]" || f.Images.N != s.N {
		t.Fatalf("classes %v, %d images", f.Classes, f.Images.N)
	}
	for k, it := range f.Items {
		i := folderIndexOf(t, it.File)
		if it.Label != 1-s.Label(i) || it.Patient != fmt.Sprintf("P%d", i/3) || !bytes.Equal(f.Images.Image(k), s.Image(i)) {
			t.Fatalf("%s: label %d patient %q", it.File, it.Label, it.Patient)
		}
	}

	f, err = LoadImageFolder(dir, FolderLabelsCSV(filepath.Join(dir, "numeric.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.Classes) != "[0 1]" {
		t.Fatalf("classes %v", f.Classes)
	}
	for k, it := range f.Items {
		i := folderIndexOf(t, it.File)
		if it.Label != s.Label(i) || f.Images.Label(k) != s.Label(i) || it.Patient != it.File {
			t.Fatalf("%s: label %d patient %q", it.File, it.Label, it.Patient)
		}
	}
}

func TestFolderParseCSV(t *testing.T) {
	items, classes, err := folderParseCSV(strings.NewReader("Path, Patient ,Class\na.png,p1,3\nb.jpg,p2,0\n\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []FolderItem{{"a.png", 3, "p1"}, {"b.jpg", 0, "p2"}}
	if fmt.Sprint(items) != fmt.Sprint(want) || fmt.Sprint(classes) != "[0 1 2 3]" {
		t.Fatalf("items %v classes %v", items, classes)
	}
	items, _, err = folderParseCSV(strings.NewReader("\ufefffile,label\na.png,1\n"), "bom.csv")
	if err != nil || len(items) != 1 || items[0].File != "a.png" {
		t.Fatalf("CSV with a byte-order mark: %v %v", items, err)
	}
	for _, tc := range []struct{ csv, want string }{
		{"", "empty"},
		{"file,label\n", "no rows"},
		{"a.png\n", "line 1"},
		{"file,label\na.png,1\nb.png\n", "line 3"},
		{"a.png,-1\n", "label -1"},
		{"a.png,\"x\n", "CSV"},
	} {
		_, _, err := folderParseCSV(strings.NewReader(tc.csv), "labels.csv")
		if err == nil || !strings.Contains(err.Error(), "labels.csv") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming labels.csv and %q", tc.csv, err, tc.want)
		}
	}
}

// folderColour makes a colour version of example i: R = p, G = 255 - p, B = p / 2.
func folderColour(s *Split, i int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, s.Width, s.Height))
	for j, p := range s.Image(i) {
		copy(img.Pix[4*j:], []uint8{p, 255 - p, p / 2, 255})
	}
	return img
}

func TestLoadImageFolderColourAndPalette(t *testing.T) {
	s := folderTestSplit(t, 12)
	dir := t.TempDir()
	grays := make(color.Palette, 256)
	for i := range grays {
		grays[i] = color.Gray{uint8(i)}
	}
	for i := range s.N {
		name := folderTestClasses[s.Label(i)]
		folderWrite(t, dir, fmt.Sprintf("%s/img%04d.png", name, i), folderEncode(t, folderColour(s, i), "png"))
		pal := image.NewPaletted(image.Rect(0, 0, s.Width, s.Height), grays)
		copy(pal.Pix, s.Image(i))
		folderWrite(t, dir, fmt.Sprintf("%s/pal/img%04d.png", name, i), folderEncode(t, pal, "png"))
	}
	rgb, err := LoadImageFolder(dir, FolderRGB())
	if err != nil {
		t.Fatal(err)
	}
	gray, err := LoadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rgb.Channels != 3 || rgb.Images.Channels != 3 || gray.Images.Channels != 1 || rgb.Images.N != 2*s.N {
		t.Fatalf("channels %d/%d, %d images", rgb.Images.Channels, gray.Images.Channels, rgb.Images.N)
	}
	for k, it := range rgb.Items {
		orig := s.Image(folderIndexOf(t, it.File))
		paletted := strings.Contains(it.File, "/pal/")
		for j, p := range orig {
			r, g, b := p, 255-p, p/2
			if paletted {
				r, g, b = p, p, p
			}
			// color.GrayModel's luma, on 16-bit values, as the reference.
			y := uint8((19595*uint32(r)*257 + 38470*uint32(g)*257 + 7471*uint32(b)*257 + 1<<15) >> 24)
			px := rgb.Images.Image(k)[3*j : 3*j+3]
			if px[0] != r || px[1] != g || px[2] != b || gray.Images.Image(k)[j] != y {
				t.Fatalf("%s pixel %d: rgb %v gray %d, want %v %d", it.File, j, px, gray.Images.Image(k)[j], []uint8{r, g, b}, y)
			}
		}
	}
}

func TestLoadImageFolder16Bit(t *testing.T) {
	s := folderTestSplit(t, 10)
	dir := t.TempDir()
	vals := make([][]uint16, s.N)
	for i := range s.N {
		img := image.NewGray16(image.Rect(0, 0, s.Width, s.Height))
		vals[i] = make([]uint16, s.ImageSize())
		for j, p := range s.Image(i) {
			vals[i][j] = uint16(p)*200 + 1000
			img.SetGray16(j%s.Width, j/s.Width, color.Gray16{vals[i][j]})
		}
		folderWrite(t, dir, fmt.Sprintf("%s/img%04d.png", folderTestClasses[s.Label(i)], i), folderEncode(t, img, "png"))
	}
	// A fixed window [1000, 52000] maps 200 p + 1000 back to p exactly.
	fixed, err := LoadImageFolder(dir, Folder16BitRange(1000, 52000))
	if err != nil {
		t.Fatal(err)
	}
	stretched, err := LoadImageFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range fixed.Items {
		i := folderIndexOf(t, it.File)
		if !bytes.Equal(fixed.Images.Image(k), s.Image(i)) {
			t.Fatalf("%s: fixed window does not give back the 8-bit image", it.File)
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals[i] {
			lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
		}
		for j, v := range vals[i] {
			want := uint8(math.Floor((float64(v)-lo)*255/(hi-lo) + 0.5))
			if got := stretched.Images.Image(k)[j]; got != want {
				t.Fatalf("%s pixel %d: min/max stretch gives %d, want %d", it.File, j, got, want)
			}
		}
	}
}

func TestLoadImageFolderResize(t *testing.T) {
	s := folderTestSplit(t, 6)
	dir := folderWriteClasses(t, s, "png")
	f, err := LoadImageFolder(dir, FolderImageSize(14, 20))
	if err != nil {
		t.Fatal(err)
	}
	if f.Images.Height != 14 || f.Images.Width != 20 || len(f.Images.Images) != 6*14*20 {
		t.Fatalf("resized to %dx%d", f.Images.Height, f.Images.Width)
	}
	for k, it := range f.Items {
		ref := imaging.Resize(folderGray(s, folderIndexOf(t, it.File)), 20, 14, imaging.Linear)
		for j, v := range f.Images.Image(k) {
			if ref.Pix[4*j] != v {
				t.Fatalf("%s pixel %d: %d, imaging gives %d", it.File, j, v, ref.Pix[4*j])
			}
		}
	}
	// A constant image stays constant whatever the filter.
	flat := image.NewGray(image.Rect(0, 0, 9, 7))
	for i := range flat.Pix {
		flat.Pix[i] = 77
	}
	cfg, _ := newFolderConfig(nil)
	out, err := cfg.decode(folderEncode(t, flat, "png"), "flat.png", 4, 5)
	if err != nil || len(out) != 20 {
		t.Fatalf("decode: %v, %d bytes", err, len(out))
	}
	for _, v := range out {
		if v != 77 {
			t.Fatalf("constant image resized to %v", out)
		}
	}
}

// folderWriteBad adds to dir a truncated PNG, a garbage .png, a text file and a too-large
// image in the class folders, and returns their names and sentinels.
func folderWriteBad(t testing.TB, dir string, s *Split) map[string]error {
	t.Helper()
	good := folderEncode(t, folderGray(s, 0), "png")
	big := folderEncode(t, image.NewGray(image.Rect(0, 0, 300, 300)), "png")
	bad := map[string]error{
		"malignant/truncated.png": ErrFormat,
		"malignant/garbage.png":   ErrUnsupported,
		"normal_benign/notes.txt": ErrUnsupported,
		"normal_benign/huge.png":  ErrShape,
	}
	folderWrite(t, dir, "malignant/truncated.png", good[:len(good)*2/3])
	folderWrite(t, dir, "malignant/garbage.png", []byte("this is not an image at all"))
	folderWrite(t, dir, "normal_benign/notes.txt", []byte("hello"))
	folderWrite(t, dir, "normal_benign/huge.png", big)
	return bad
}

func TestLoadImageFolderBadFiles(t *testing.T) {
	s := folderTestSplit(t, 20)
	dir := folderWriteClasses(t, s, "png")
	bad := folderWriteBad(t, dir, s)
	limit := FolderMaxPixels(200 * 200)

	_, err := LoadImageFolder(dir, limit)
	var fe *FileError
	if !errors.As(err, &fe) || bad[fe.File] == nil || !errors.Is(err, bad[fe.File]) || !strings.Contains(err.Error(), fe.File) {
		t.Fatalf("error %v, want a FileError naming one of the bad files", err)
	}
	// Each bad file alone is an error naming it, with its sentinel.
	for file, kind := range bad {
		one := t.TempDir()
		folderWrite(t, one, "malignant/ok.png", folderEncode(t, folderGray(s, 0), "png"))
		b, _ := os.ReadFile(filepath.Join(dir, file))
		folderWrite(t, one, file, b)
		_, err := LoadImageFolder(one, limit)
		if !errors.Is(err, kind) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %v, want %v naming the file", file, err, kind)
		}
	}

	f, err := LoadImageFolder(dir, limit, SkipBadFiles())
	if err != nil {
		t.Fatal(err)
	}
	if f.Images.N != s.N || len(f.Items) != s.N || len(f.Skipped) != len(bad) {
		t.Fatalf("%d images, %d skipped (%v), want %d and %d", f.Images.N, len(f.Skipped), f.Skipped, s.N, len(bad))
	}
	for _, b := range f.Skipped {
		if !errors.Is(b.Err, bad[b.File]) || !strings.Contains(f.Skipped.String(), b.File+": data: "+b.File) {
			t.Errorf("skipped %s: %v", b.File, b.Err)
		}
	}
	t.Logf("skip report:\n%s", f.Skipped)

	// A CSV naming a missing file: ErrRead, or skipped.
	folderWrite(t, dir, "labels.csv", []byte(folderTestClasses[s.Label(0)]+"/img0000.png,0\nmissing.png,1\n"))
	if _, err := LoadImageFolder(dir, FolderLabelsCSV(filepath.Join(dir, "labels.csv"))); !errors.Is(err, ErrRead) || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLoadImageFolderArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		opts []FolderOption
		want string
	}{
		{nil, "no class sub-folders"},
		{[]FolderOption{FolderImageSize(0, 3)}, "FolderImageSize"},
		{[]FolderOption{Folder16BitRange(5, 5)}, "Folder16BitRange"},
		{[]FolderOption{FolderWorkers(0)}, "FolderWorkers"},
		{[]FolderOption{FolderUnlabelled()}, "no readable images"},
		{[]FolderOption{FolderLabelsCSV(filepath.Join(dir, "none.csv"))}, "none.csv"},
	} {
		_, err := LoadImageFolder(dir, tc.opts...)
		if err == nil || !strings.HasPrefix(err.Error(), "data: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %q", err, tc.want)
		}
	}
}

func TestFolderUnlabelledAndPatients(t *testing.T) {
	s := folderTestSplit(t, 9)
	dir := t.TempDir()
	for i := range s.N {
		folderWrite(t, dir, fmt.Sprintf("p%d/img%04d.png", i/3, i), folderEncode(t, folderGray(s, i), "png"))
	}
	f, err := LoadImageFolder(dir, FolderUnlabelled(), FolderPatients(func(file string) string { return strings.Split(file, "/")[0] }))
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range f.Items {
		i := folderIndexOf(t, it.File)
		if it.Label != 0 || it.Patient != fmt.Sprintf("p%d", i/3) || !bytes.Equal(f.Images.Image(k), s.Image(i)) {
			t.Fatalf("%+v", it)
		}
	}
}
