package stream_test

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/data/stream"
)

// A folder is scanned (file list and headers, no pixels) and streamed from disk in
// shuffled labelled batches, decoded in parallel through a bounded cache, as a folder too
// large for memory would be.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "stream")
	defer os.RemoveAll(dir)
	for i := range 10 {
		name := filepath.Join(dir, []string{"benign", "malignant"}[i%2], fmt.Sprintf("img%02d.png", i))
		os.MkdirAll(filepath.Dir(name), 0o755)
		img := image.NewGray(image.Rect(0, 0, 16, 16))
		img.Pix[0] = uint8(i)
		fh, _ := os.Create(name)
		png.Encode(fh, img)
		fh.Close()
	}
	f, err := folder.Scan(dir, folder.ImageSize(8, 8))
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := stream.Open(f, stream.CacheBytes(1<<20), stream.Workers(2))
	if err != nil {
		fmt.Println(err)
		return
	}
	batches, err := st.Batches(4, data.WithShuffle(1))
	if err != nil {
		fmt.Println(err)
		return
	}
	for batch, err := range batches.Iter() {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("batch:", batch.Inputs[0].Shape(), batch.Labels[0].Shape())
	}
	fmt.Println("files decoded:", st.Stats().Decoded)
	// Output:
	// batch: (Float32)[4, 8, 8, 1] (Int32)[4]
	// batch: (Float32)[4, 8, 8, 1] (Int32)[4]
	// batch: (Float32)[2, 8, 8, 1] (Int32)[2]
	// files decoded: 10
}
