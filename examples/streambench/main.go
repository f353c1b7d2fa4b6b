// Command streambench measures stream.Stream (package data/stream): it writes N grayscale PNGs (real BreastMNIST
// images, upscaled to -size and varied by flips and a brightness shift so files differ)
// into class folders, then streams them for -epochs epochs of shuffled labelled batches
// through a bounded cache, and reports images decoded per second, the process's resident
// memory (VmRSS at intervals, peak VmHWM from /proc/self/status) and the cache's peak
// bytes. Run it with N and 2N: the peak memory stays the same while the data doubles.
//
//	go run ./examples/streambench                      # 20,000 128x128 PNGs, 200 MB cache
//	go run ./examples/streambench -n 40000 -dir /tmp/sb40k
//
// With -dir the folder is kept and reused when it already holds N images. Go's heap may
// grow to about twice the live data before a collection (GOGC=100); GOMEMLIMIT caps it.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/disintegration/imaging"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/data/stream"
	"github.com/medssl/medssl/examples/internal/cli"
)

func main() {
	n := flag.Int("n", 20000, "number of images")
	size := flag.Int("size", 128, "image side in pixels")
	cacheMB := flag.Int("cache-mb", 200, "cache capacity in MB (1 MB = 2^20 bytes)")
	dir := flag.String("dir", "", "folder for the images (default: a temporary folder, removed afterwards)")
	batch := flag.Int("batch", 128, "batch size")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "decoding goroutines")
	prefetch := flag.Int("prefetch", 2, "batches decoded ahead")
	epochs := flag.Int("epochs", 1, "epochs to stream")
	flag.Parse()
	if err := run(*n, *size, *cacheMB, *dir, *batch, *workers, *prefetch, *epochs); err != nil {
		cli.Fatal(err)
	}
}

func run(n, size, cacheMB int, dir string, batch, workers, prefetch, epochs int) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "streambench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	t0 := time.Now()
	written, err := generate(dir, n, size)
	if err != nil {
		return err
	}
	fmt.Printf("folder %s: %d %dx%d PNGs (%d written now, %s)\n", dir, n, size, size, written, time.Since(t0).Round(time.Millisecond))

	// Measure the streaming alone: reset the peak RSS (Linux: clear_refs 5) and the heap.
	runtime.GC()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	t0 = time.Now()
	f, err := folder.Scan(dir, folder.ImageSize(size, size))
	if err != nil {
		return err
	}
	fmt.Printf("scan (list + headers): %d images, %d classes, %s\n", len(f.Items), len(f.Classes), time.Since(t0).Round(time.Millisecond))
	capacity := int64(cacheMB) << 20
	st, err := stream.Open(f, stream.CacheBytes(capacity), stream.Workers(workers), stream.Prefetch(prefetch))
	if err != nil {
		return err
	}
	sb, err := st.Batches(batch, data.WithShuffle(1))
	if err != nil {
		return err
	}
	fmt.Printf("streaming %d epoch(s): batch %d, cache %d MB, %d workers, prefetch %d, GOMAXPROCS %d\n",
		epochs, batch, cacheMB, workers, prefetch, runtime.GOMAXPROCS(0))
	fmt.Printf("%8s %10s %10s %10s %12s %10s\n", "images", "seconds", "img/s", "RSS MB", "cache MB", "decoded")
	start := time.Now()
	seen, every := 0, max(1, len(f.Items)/10)
	var sum float64
	for e := range epochs {
		epochStart := time.Now()
		for b, err := range sb.Iter() {
			if err != nil {
				return err
			}
			imgs := b.Inputs[0].Shape().Dimensions[0]
			sum += float64(b.Labels[0].Shape().Size()) // touch the labels
			b.Finalize()
			before := seen
			seen += imgs
			if seen/every != before/every {
				s := st.Stats()
				el := time.Since(start).Seconds()
				fmt.Printf("%8d %10.1f %10.0f %10.0f %12.1f %10d\n", seen, el, float64(seen)/el, float64(status("VmRSS"))/(1<<20),
					float64(s.CacheBytes)/(1<<20), s.Decoded)
			}
		}
		fmt.Printf("epoch %d: %.0f images/s\n", e+1, float64(len(f.Items))/time.Since(epochStart).Seconds())
	}
	el := time.Since(start).Seconds()
	s := st.Stats()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("\nresult: %d images in %.1f s = %.0f images/s served, %.0f files decoded/s\n", seen, el, float64(seen)/el, float64(s.Decoded)/el)
	fmt.Printf("cache: capacity %.1f MB, peak %.1f MB, %d entries, hits %d, misses %d, evictions %d\n",
		float64(s.CacheCapacity)/(1<<20), float64(s.CachePeakBytes)/(1<<20), s.CacheEntries, s.Hits, s.Misses, s.Evictions)
	fmt.Printf("memory: peak RSS (VmHWM) %.0f MB, Go heap in use %.0f MB, decoded data set %.0f MB\n",
		float64(status("VmHWM"))/(1<<20), float64(ms.HeapInuse)/(1<<20), float64(len(f.Items)*size*size)/(1<<20))
	if len(st.Skipped()) > 0 {
		fmt.Printf("skipped files:\n%s", st.Skipped())
	}
	return nil
}

// generate writes n PNGs into dir/<class>/img%06d.png unless they are there already,
// and returns how many it wrote.
func generate(dir string, n, size int) (int, error) {
	d, err := data.BreastMNIST()
	if err != nil {
		return 0, err
	}
	src := d.Train
	classes := []string{"malignant", "normal_benign"}
	for _, c := range classes {
		if err := os.MkdirAll(filepath.Join(dir, c), 0o755); err != nil {
			return 0, err
		}
	}
	// Remove images beyond n from an earlier, larger run, so the folder holds exactly n.
	for _, c := range classes {
		entries, _ := os.ReadDir(filepath.Join(dir, c))
		for _, e := range entries {
			var i int
			if _, err := fmt.Sscanf(e.Name(), "img%06d.png", &i); err == nil && i >= n {
				os.Remove(filepath.Join(dir, c, e.Name()))
			}
		}
	}
	written := 0
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	for i := range n {
		j := i % src.N
		p := filepath.Join(dir, classes[src.Label(j)], fmt.Sprintf("img%06d.png", i))
		if _, err := os.Stat(p); err == nil {
			continue
		}
		g := &image.Gray{Pix: src.Image(j), Stride: src.Width, Rect: image.Rect(0, 0, src.Width, src.Height)}
		var img image.Image = imaging.Resize(g, size, size, imaging.Linear)
		if (i/src.N)%2 == 1 {
			img = imaging.FlipH(img)
		}
		img = imaging.AdjustBrightness(img, float64((i/(2*src.N))%9-4))
		gray := imaging.Grayscale(img)
		out := image.NewGray(gray.Rect)
		for k := range out.Pix {
			out.Pix[k] = gray.Pix[4*k]
		}
		buf.Reset()
		if err := enc.Encode(&buf, out); err != nil {
			return written, err
		}
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return written, err
		}
		written++
	}
	return written, nil
}

// status reads a "Key: N kB" line of /proc/self/status, in bytes (0 if unavailable).
func status(key string) int64 {
	fh, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}
