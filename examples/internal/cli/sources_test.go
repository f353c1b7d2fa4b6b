package cli

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testutil/foldertest"
)

// A pool folder laid out like a dataset (images in a sub-folder, a README and a labels CSV
// beside them) gives its images, and names the other files it leaves out.
func TestPoolFolderLeavesOutNonImages(t *testing.T) {
	s := foldertest.Split(t, 3)
	dir := t.TempDir()
	for i := range s.N {
		foldertest.Write(t, dir, "images/"+string(rune('a'+i))+".png", foldertest.Encode(t, foldertest.Gray(s, i), "png"))
	}
	foldertest.Write(t, dir, "README.md", []byte("not an image\n"))
	foldertest.Write(t, dir, "labels.csv", []byte("file,label\n"))
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
