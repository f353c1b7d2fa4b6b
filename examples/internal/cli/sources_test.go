package cli

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
)

// A pool folder laid out like a dataset (images in a sub-folder, a README and a labels CSV
// beside them) gives its images, and names the other files it leaves out.
func TestPoolFolderLeavesOutNonImages(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		img := image.NewGray(image.Rect(0, 0, 12, 10))
		img.SetGray(i, i, color.Gray{Y: 200})
		f, err := os.Create(filepath.Join(dir, "images", string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	for _, name := range []string{"README.md", "labels.csv"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("not an image\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	pool, err := Pool(dir, &data.Split{Height: 8, Width: 8, Channels: 1}, &log)
	if err != nil {
		t.Fatal(err)
	}
	if n := pool.Source.Len(); n != 3 || pool.Name != filepath.Base(dir) {
		t.Errorf("pool %q of %d images, want %q of 3", pool.Name, n, filepath.Base(dir))
	}
	if l := log.String(); !strings.Contains(l, "2 files left out") || !strings.Contains(l, "README.md") || !strings.Contains(l, "labels.csv") {
		t.Errorf("log:\n%s", l)
	}
}
