package folder_test

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
)

// A folder with one sub-folder per class, loaded into memory, split by patient (here the
// patient id is the file name's first letter) and cut into the train/val/test Splits that
// every protocol takes.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "folder")
	defer os.RemoveAll(dir)
	for i, name := range []string{"benign/a1.png", "benign/a2.png", "benign/b1.png", "benign/c1.png",
		"malignant/d1.png", "malignant/e1.png", "malignant/e2.png", "malignant/f1.png"} {
		img := image.NewGray(image.Rect(0, 0, 16, 12))
		img.Pix[0] = uint8(i)
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		fh, _ := os.Create(filepath.Join(dir, name))
		png.Encode(fh, img)
		fh.Close()
	}
	f, err := folder.Load(dir, folder.ImageSize(8, 8),
		folder.Patients(func(file string) string { return filepath.Base(file)[:1] }))
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := f.SplitByPatient(data.SplitFractions{Train: 0.5, Val: 0.25, Test: 0.25}, 1)
	ds, _ := f.Dataset(m)
	fmt.Println(f.Classes, f.Images.N, "images of", f.Height, "x", f.Width)
	fmt.Println("train/val/test:", ds.Train.N, ds.Val.N, ds.Test.N)
	// Output:
	// [benign malignant] 8 images of 8 x 8
	// train/val/test: 4 2 2
}
