package folder

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testutil/foldertest"
)

func TestLoadPNGExact(t *testing.T) {
	s := foldertest.Split(t, 80)
	dir := foldertest.WriteClasses(t, s, "png")
	f, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.Classes) != fmt.Sprint(foldertest.Classes) || f.Task() != data.Binary || f.NumClasses() != 2 {
		t.Fatalf("classes %v task %v", f.Classes, f.Task())
	}
	got := f.Images
	if got.N != s.N || got.Height != 28 || got.Width != 28 || got.Channels != 1 || len(got.Images) != s.N*28*28 || len(f.Skipped) != 0 {
		t.Fatalf("split %d %dx%dx%d, skipped %v", got.N, got.Height, got.Width, got.Channels, f.Skipped)
	}
	for k, it := range f.Items {
		i := foldertest.IndexOf(t, it.File)
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
func TestLoadJPEG(t *testing.T) {
	s := foldertest.Split(t, 40)
	dir := foldertest.WriteClasses(t, s, "jpeg")
	f, err := Load(dir)
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
		orig := s.Image(foldertest.IndexOf(t, it.File))
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

func TestLoadCSV(t *testing.T) {
	s := foldertest.Split(t, 30)
	dir := t.TempDir()
	var named, numeric strings.Builder
	named.WriteString("file,label,patient\n")
	for i := range s.N {
		file := fmt.Sprintf("flat/img%04d.png", i)
		foldertest.Write(t, dir, file, foldertest.Encode(t, foldertest.Gray(s, i), "png"))
		fmt.Fprintf(&named, "%s,%s,P%d\n", file, []string{"malignant", "benign"}[s.Label(i)], i/3)
		fmt.Fprintf(&numeric, "%s,%d\n", file, s.Label(i))
	}
	foldertest.Write(t, dir, "named.csv", []byte(named.String()))
	foldertest.Write(t, dir, "numeric.csv", []byte(numeric.String()))

	f, err := Load(dir, LabelsCSV(filepath.Join(dir, "named.csv")))
	if err != nil {
		t.Fatal(err)
	}
	// Class names sorted: benign = 0 (BreastMNIST label 1), malignant = 1 (label 0).
	if fmt.Sprint(f.Classes) != "[benign malignant]" || f.Images.N != s.N {
		t.Fatalf("classes %v, %d images", f.Classes, f.Images.N)
	}
	for k, it := range f.Items {
		i := foldertest.IndexOf(t, it.File)
		if it.Label != 1-s.Label(i) || it.Patient != fmt.Sprintf("P%d", i/3) || !bytes.Equal(f.Images.Image(k), s.Image(i)) {
			t.Fatalf("%s: label %d patient %q", it.File, it.Label, it.Patient)
		}
	}

	f, err = Load(dir, LabelsCSV(filepath.Join(dir, "numeric.csv")))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(f.Classes) != "[0 1]" {
		t.Fatalf("classes %v", f.Classes)
	}
	for k, it := range f.Items {
		i := foldertest.IndexOf(t, it.File)
		if it.Label != s.Label(i) || f.Images.Label(k) != s.Label(i) || it.Patient != it.File {
			t.Fatalf("%s: label %d patient %q", it.File, it.Label, it.Patient)
		}
	}
}

func TestParseCSV(t *testing.T) {
	items, classes, err := parseCSV(strings.NewReader("Path, Patient ,Class\na.png,p1,3\nb.jpg,p2,0\n\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []data.Item{{File: "a.png", Label: 3, Patient: "p1"}, {File: "b.jpg", Label: 0, Patient: "p2"}}
	if fmt.Sprint(items) != fmt.Sprint(want) || fmt.Sprint(classes) != "[0 1 2 3]" {
		t.Fatalf("items %v classes %v", items, classes)
	}
	items, _, err = parseCSV(strings.NewReader("\ufefffile,label\na.png,1\n"), "bom.csv")
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
		_, _, err := parseCSV(strings.NewReader(tc.csv), "labels.csv")
		if err == nil || !strings.Contains(err.Error(), "labels.csv") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one naming labels.csv and %q", tc.csv, err, tc.want)
		}
	}
}

// colour makes a colour version of example i: R = p, G = 255 - p, B = p / 2.
func colour(s *data.Split, i int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, s.Width, s.Height))
	for j, p := range s.Image(i) {
		copy(img.Pix[4*j:], []uint8{p, 255 - p, p / 2, 255})
	}
	return img
}

func TestLoadColourAndPalette(t *testing.T) {
	s := foldertest.Split(t, 12)
	dir := t.TempDir()
	grays := make(color.Palette, 256)
	for i := range grays {
		grays[i] = color.Gray{uint8(i)}
	}
	for i := range s.N {
		name := foldertest.Classes[s.Label(i)]
		foldertest.Write(t, dir, fmt.Sprintf("%s/img%04d.png", name, i), foldertest.Encode(t, colour(s, i), "png"))
		pal := image.NewPaletted(image.Rect(0, 0, s.Width, s.Height), grays)
		copy(pal.Pix, s.Image(i))
		foldertest.Write(t, dir, fmt.Sprintf("%s/pal/img%04d.png", name, i), foldertest.Encode(t, pal, "png"))
	}
	rgb, err := Load(dir, RGB())
	if err != nil {
		t.Fatal(err)
	}
	gray, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rgb.Channels != 3 || rgb.Images.Channels != 3 || gray.Images.Channels != 1 || rgb.Images.N != 2*s.N {
		t.Fatalf("channels %d/%d, %d images", rgb.Images.Channels, gray.Images.Channels, rgb.Images.N)
	}
	for k, it := range rgb.Items {
		orig := s.Image(foldertest.IndexOf(t, it.File))
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

func TestLoad16Bit(t *testing.T) {
	s := foldertest.Split(t, 10)
	dir := t.TempDir()
	vals := make([][]uint16, s.N)
	for i := range s.N {
		img := image.NewGray16(image.Rect(0, 0, s.Width, s.Height))
		vals[i] = make([]uint16, s.ImageSize())
		for j, p := range s.Image(i) {
			vals[i][j] = uint16(p)*200 + 1000
			img.SetGray16(j%s.Width, j/s.Width, color.Gray16{vals[i][j]})
		}
		foldertest.Write(t, dir, fmt.Sprintf("%s/img%04d.png", foldertest.Classes[s.Label(i)], i), foldertest.Encode(t, img, "png"))
	}
	// A fixed window [1000, 52000] maps 200 p + 1000 back to p exactly.
	fixed, err := Load(dir, Range16Bit(1000, 52000))
	if err != nil {
		t.Fatal(err)
	}
	stretched, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range fixed.Items {
		i := foldertest.IndexOf(t, it.File)
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

func TestLoadResize(t *testing.T) {
	s := foldertest.Split(t, 6)
	dir := foldertest.WriteClasses(t, s, "png")
	f, err := Load(dir, ImageSize(14, 20))
	if err != nil {
		t.Fatal(err)
	}
	if f.Images.Height != 14 || f.Images.Width != 20 || len(f.Images.Images) != 6*14*20 {
		t.Fatalf("resized to %dx%d", f.Images.Height, f.Images.Width)
	}
	for k, it := range f.Items {
		ref := imaging.Resize(foldertest.Gray(s, foldertest.IndexOf(t, it.File)), 20, 14, imaging.Linear)
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
	cfg, _ := newConfig(nil)
	out, err := cfg.decode(foldertest.Encode(t, flat, "png"), "flat.png", 4, 5)
	if err != nil || len(out) != 20 {
		t.Fatalf("decode: %v, %d bytes", err, len(out))
	}
	for _, v := range out {
		if v != 77 {
			t.Fatalf("constant image resized to %v", out)
		}
	}
}

// writeBad adds to dir a truncated PNG, a garbage .png, a text file and a too-large
// image in the class folders, and returns their names and sentinels.
func writeBad(t testing.TB, dir string, s *data.Split) map[string]error {
	t.Helper()
	good := foldertest.Encode(t, foldertest.Gray(s, 0), "png")
	big := foldertest.Encode(t, image.NewGray(image.Rect(0, 0, 300, 300)), "png")
	bad := map[string]error{
		"malignant/truncated.png": data.ErrFormat,
		"malignant/garbage.png":   data.ErrUnsupported,
		"normal_benign/notes.txt": data.ErrUnsupported,
		"normal_benign/huge.png":  data.ErrShape,
	}
	foldertest.Write(t, dir, "malignant/truncated.png", good[:len(good)*2/3])
	foldertest.Write(t, dir, "malignant/garbage.png", []byte("this is not an image at all"))
	foldertest.Write(t, dir, "normal_benign/notes.txt", []byte("hello"))
	foldertest.Write(t, dir, "normal_benign/huge.png", big)
	return bad
}

func TestLoadBadFiles(t *testing.T) {
	s := foldertest.Split(t, 20)
	dir := foldertest.WriteClasses(t, s, "png")
	bad := writeBad(t, dir, s)
	limit := MaxPixels(200 * 200)

	_, err := Load(dir, limit)
	var fe *data.FileError
	if !errors.As(err, &fe) || bad[fe.File] == nil || !errors.Is(err, bad[fe.File]) || !strings.Contains(err.Error(), fe.File) {
		t.Fatalf("error %v, want a FileError naming one of the bad files", err)
	}
	// Each bad file alone is an error naming it, with its sentinel.
	for file, kind := range bad {
		one := t.TempDir()
		foldertest.Write(t, one, "malignant/ok.png", foldertest.Encode(t, foldertest.Gray(s, 0), "png"))
		b, _ := os.ReadFile(filepath.Join(dir, file))
		foldertest.Write(t, one, file, b)
		_, err := Load(one, limit)
		if !errors.Is(err, kind) || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: error %v, want %v naming the file", file, err, kind)
		}
	}

	f, err := Load(dir, limit, SkipBadFiles())
	if err != nil {
		t.Fatal(err)
	}
	if f.Images.N != s.N || len(f.Items) != s.N || len(f.Skipped) != len(bad) {
		t.Fatalf("%d images, %d skipped (%v), want %d and %d", f.Images.N, len(f.Skipped), f.Skipped, s.N, len(bad))
	}
	for _, b := range f.Skipped {
		if !errors.Is(b.Err, bad[b.File]) || !strings.Contains(f.Skipped.String(), b.File+": folder: "+b.File) {
			t.Errorf("skipped %s: %v", b.File, b.Err)
		}
	}
	t.Logf("skip report:\n%s", f.Skipped)

	// A CSV naming a missing file: data.ErrRead, or skipped.
	foldertest.Write(t, dir, "labels.csv", []byte(foldertest.Classes[s.Label(0)]+"/img0000.png,0\nmissing.png,1\n"))
	if _, err := Load(dir, LabelsCSV(filepath.Join(dir, "labels.csv"))); !errors.Is(err, data.ErrRead) || !strings.Contains(err.Error(), "missing.png") {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLoadArguments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{nil, "no class sub-folders"},
		{[]Option{ImageSize(0, 3)}, "ImageSize"},
		{[]Option{Range16Bit(5, 5)}, "Range16Bit"},
		{[]Option{Workers(0)}, "Workers"},
		{[]Option{Unlabelled()}, "no readable images"},
		{[]Option{LabelsCSV(filepath.Join(dir, "none.csv"))}, "none.csv"},
	} {
		_, err := Load(dir, tc.opts...)
		if err == nil || !strings.HasPrefix(err.Error(), "folder: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one mentioning %q", err, tc.want)
		}
	}
}

func TestUnlabelledAndPatients(t *testing.T) {
	s := foldertest.Split(t, 9)
	dir := t.TempDir()
	for i := range s.N {
		foldertest.Write(t, dir, fmt.Sprintf("p%d/img%04d.png", i/3, i), foldertest.Encode(t, foldertest.Gray(s, i), "png"))
	}
	f, err := Load(dir, Unlabelled(), Patients(func(file string) string { return strings.Split(file, "/")[0] }))
	if err != nil {
		t.Fatal(err)
	}
	for k, it := range f.Items {
		i := foldertest.IndexOf(t, it.File)
		if it.Label != 0 || it.Patient != fmt.Sprintf("p%d", i/3) || !bytes.Equal(f.Images.Image(k), s.Image(i)) {
			t.Fatalf("%+v", it)
		}
	}
}

// Decode gives, for a scanned folder, the images Load holds; SkipsBadFiles tells readers
// what to do with the files that fail.
func TestDecode(t *testing.T) {
	s := foldertest.Split(t, 8)
	dir := foldertest.WriteClasses(t, s, "png")
	loaded, err := Load(dir, ImageSize(14, 14))
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := Scan(dir, ImageSize(14, 14), SkipBadFiles())
	if err != nil {
		t.Fatal(err)
	}
	if scanned.Images != nil || loaded.SkipsBadFiles() || !scanned.SkipsBadFiles() {
		t.Fatalf("scan loaded images %v, skips bad files %v/%v", scanned.Images != nil, loaded.SkipsBadFiles(), scanned.SkipsBadFiles())
	}
	for i := range scanned.Items {
		pix, err := scanned.Decode(i)
		if err != nil || !bytes.Equal(pix, loaded.Images.Image(i)) {
			t.Fatalf("Decode(%d): %v, or pixels differ from Load's", i, err)
		}
	}
	for _, i := range []int{-1, len(scanned.Items)} {
		if _, err := scanned.Decode(i); !errors.Is(err, data.ErrArgument) || !strings.HasPrefix(err.Error(), "folder: ") {
			t.Errorf("Decode(%d): %v, want data.ErrArgument", i, err)
		}
	}
	// A file removed after the scan is an error naming it, skip mode or not.
	victim := scanned.Items[2].File
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(victim))); err != nil {
		t.Fatal(err)
	}
	if _, err := scanned.Decode(2); !errors.Is(err, data.ErrRead) || !strings.HasPrefix(err.Error(), "folder: "+victim+": ") {
		t.Fatalf("Decode of a removed file: %v", err)
	}
	// Select and Dataset check their arguments.
	m, err := scanned.SplitByPatient(data.SplitFractions{Train: 0.5, Val: 0.25, Test: 0.25}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scanned.Select(m, "dev"); !errors.Is(err, data.ErrArgument) {
		t.Errorf("Select of split dev: %v", err)
	}
	if _, err := scanned.Dataset(m); !errors.Is(err, data.ErrArgument) || !strings.Contains(err.Error(), "not loaded") {
		t.Errorf("Dataset of a scanned folder: %v", err)
	}
	if part, err := scanned.Select(m, "train"); err != nil || part.Images != nil || len(part.Items) != m.Counts()["train"] {
		t.Errorf("Select of a scanned folder: %v", err)
	}
}
