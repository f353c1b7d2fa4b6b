package stream

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil/foldertest"
)

// testFolder writes n real BreastMNIST images as PNGs in class folders.
func testFolder(t testing.TB, n int) (string, *data.Split) {
	s := foldertest.Split(t, n)
	return foldertest.WriteClasses(t, s, "png"), s
}

// take returns the flat inputs and labels of the first n batches of ds.
func take(t testing.TB, ds train.Dataset, n int) (images [][]float32, labels [][]int32) {
	t.Helper()
	for b, err := range ds.Iter() {
		if err != nil {
			t.Fatal(err)
		}
		images = append(images, tensors.MustCopyFlatData[float32](b.Inputs[0]))
		if len(b.Labels) > 0 {
			labels = append(labels, tensors.MustCopyFlatData[int32](b.Labels[0]))
		}
		b.Finalize()
		if len(images) == n {
			break
		}
	}
	return images, labels
}

// The stream serves bit for bit the batches of the in-memory split of the same folder:
// same shuffled order per epoch, same layout, same labels, with partial last batches.
func TestMatchesInMemory(t *testing.T) {
	dir, _ := testFolder(t, 50)
	f, err := folder.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(f, CacheBytes(20*(28*28+entryOverhead)), Workers(3), Prefetch(1))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := data.NewBatches(f.Images, 16, data.WithShuffle(5))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := st.Batches(16, data.WithShuffle(5))
	if err != nil {
		t.Fatal(err)
	}
	if sb.StepsPerEpoch() != mem.StepsPerEpoch() || sb.StepsPerEpoch() != 4 {
		t.Fatalf("steps per epoch %d, in memory %d", sb.StepsPerEpoch(), mem.StepsPerEpoch())
	}
	for epoch := range 2 {
		wantImg, wantLbl := take(t, mem, 100)
		gotImg, gotLbl := take(t, sb, 100)
		if len(gotImg) != 4 || len(gotImg[3]) != 2*28*28 {
			t.Fatalf("epoch %d: %d batches", epoch, len(gotImg))
		}
		if !reflect.DeepEqual(gotImg, wantImg) || !reflect.DeepEqual(gotLbl, wantLbl) {
			t.Fatalf("epoch %d: streamed batches differ from in-memory ones", epoch)
		}
	}
	// The pretraining source too: Stream.ImageBatches equals data.Split.ImageBatches.
	want, _ := f.Images.ImageBatches(8, 9, 0)
	got, err := st.ImageBatches(8, 9, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantImg, _ := take(t, want, 15)
	gotImg, gotLbl := take(t, got, 15)
	if !reflect.DeepEqual(gotImg, wantImg) || len(gotLbl) != 0 {
		t.Fatal("ImageBatches differ from the in-memory source's")
	}
}

func TestResumeAndDeterminism(t *testing.T) {
	dir, _ := testFolder(t, 30)
	f, err := folder.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f.Images != nil || f.Height != 28 || f.Channels != 1 {
		t.Fatalf("scan: %dx%dx%d, images loaded %v", f.Height, f.Width, f.Channels, f.Images != nil)
	}
	open := func() *Stream {
		st, err := Open(f, CacheBytes(5000))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// 7-image batches over 30 images cross epoch boundaries.
	full, _ := open().ImageBatches(7, 3, 0)
	all, _ := take(t, full, 12)
	again, _ := open().ImageBatches(7, 3, 0)
	same, _ := take(t, again, 12)
	if !reflect.DeepEqual(all, same) {
		t.Fatal("two streams with the same seed differ")
	}
	other, _ := open().ImageBatches(7, 4, 0)
	diff, _ := take(t, other, 12)
	if reflect.DeepEqual(all, diff) {
		t.Fatal("another seed gives the same stream")
	}
	// Stopping an endless stream early stops its goroutines.
	before := runtime.NumGoroutine()
	take(t, full, 2)
	// The runtime's finalizer and cleanup goroutines (tensors have finalizers) count while
	// they run, so give them a moment; a leaked worker never exits.
	after := runtime.NumGoroutine()
	for try := 0; after > before && try < 100; try++ {
		time.Sleep(10 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	if after > before {
		t.Fatalf("%d goroutines after stopping a stream, %d before", after, before)
	}
	for _, skip := range []int{1, 4, 9} {
		resumed, err := open().ImageBatches(7, 3, skip)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := take(t, resumed, 12-skip)
		if !reflect.DeepEqual(got, all[skip:]) {
			t.Fatalf("resumed at %d differs from the uninterrupted stream", skip)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	dir, _ := testFolder(t, 60)
	f, err := folder.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	entry := int64(28*28 + entryOverhead)
	capacity := 10*entry + entry/2 // room for 10 images
	st, err := Open(f, CacheBytes(capacity))
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := st.Batches(8, data.WithShuffle(1))
	for range 3 {
		take(t, sb, 100)
		if s := st.Stats(); s.CacheBytes > capacity || s.CachePeakBytes > capacity || s.CacheEntries > 10 {
			t.Fatalf("cache over capacity: %+v", s)
		}
	}
	s := st.Stats()
	t.Logf("small cache after 3 epochs: %+v", s)
	if s.CachePeakBytes != 10*entry || s.CacheEntries != 10 || s.Evictions == 0 || s.Hits+s.Misses != 3*60 || s.Decoded != s.Misses {
		t.Fatalf("stats %+v: want a full cache of 10 entries, evictions, 180 lookups", s)
	}

	// A cache holding everything decodes every file once, however many epochs.
	st, _ = Open(f, CacheBytes(1<<20))
	sb, _ = st.Batches(8, data.WithShuffle(1))
	for range 3 {
		take(t, sb, 100)
	}
	if s := st.Stats(); s.Decoded != 60 || s.Hits != 120 || s.CacheEntries != 60 || s.CacheBytes != 60*entry || s.Evictions != 0 {
		t.Fatalf("large cache stats %+v", s)
	}
	// No cache at all still streams.
	st, _ = Open(f, CacheBytes(0))
	sb, _ = st.Batches(8)
	if imgs, _ := take(t, sb, 100); len(imgs) != 8 || st.Stats().CachePeakBytes != 0 || st.Stats().Decoded != 60 {
		t.Fatalf("no cache: %d batches, %+v", len(imgs), st.Stats())
	}
}

// A file whose header is fine but whose pixels are truncated is found only while
// streaming: an error naming it, or with SkipBadFiles a report and a substitute.
func TestBadFile(t *testing.T) {
	dir, s := testFolder(t, 20)
	victim := fmt.Sprintf("%s/img%04d.png", foldertest.Classes[s.Label(3)], 3)
	b, err := os.ReadFile(filepath.Join(dir, victim))
	if err != nil {
		t.Fatal(err)
	}
	foldertest.Write(t, dir, victim, b[:len(b)-40])

	f, err := folder.Scan(dir)
	if err != nil || len(f.Items) != 20 {
		t.Fatalf("scan: %v", err)
	}
	st, _ := Open(f)
	sb, _ := st.Batches(20)
	var iterErr error
	for _, err := range sb.Iter() {
		if err != nil {
			iterErr = err
			break
		}
	}
	if !errors.Is(iterErr, data.ErrFormat) || !strings.Contains(fmt.Sprint(iterErr), victim) {
		t.Fatalf("error %v, want data.ErrFormat naming %s", iterErr, victim)
	}

	f, _ = folder.Scan(dir, folder.SkipBadFiles())
	st, _ = Open(f)
	sb, _ = st.Batches(20)
	imgs, labels := take(t, sb, 1)
	if len(imgs) != 1 || len(labels[0]) != 20 {
		t.Fatalf("skip mode: %d batches", len(imgs))
	}
	skipped := st.Skipped()
	if len(skipped) != 1 || skipped[0].File != victim || !errors.Is(skipped[0].Err, data.ErrFormat) {
		t.Fatalf("skipped %v, want %s", skipped, victim)
	}
	// The victim's slot holds the next file in folder order.
	k := 0
	for i, it := range f.Items {
		if it.File == victim {
			k = i
		}
	}
	next, _ := st.Image(k + 1)
	found := false
	for j := range 20 {
		row := imgs[0][j*784 : (j+1)*784]
		match := true
		for p, v := range next {
			match = match && row[p] == float32(v)/255
		}
		found = found || match
	}
	if !found {
		t.Fatal("no substitute for the bad file in the batch")
	}
}

func TestArguments(t *testing.T) {
	dir, _ := testFolder(t, 5)
	f, _ := folder.Scan(dir)
	for _, opts := range [][]Option{{CacheBytes(-1)}, {Workers(0)}, {Prefetch(-1)}} {
		if _, err := Open(f, opts...); !errors.Is(err, data.ErrArgument) {
			t.Errorf("error %v, want data.ErrArgument", err)
		}
	}
	st, _ := Open(f)
	if _, err := st.ImageBatches(6, 1, 0); !errors.Is(err, data.ErrArgument) {
		t.Errorf("batch larger than the stream: %v", err)
	}
	if _, err := Open(nil); !errors.Is(err, data.ErrArgument) {
		t.Errorf("nil folder: %v", err)
	}
}

// Digest is stable while the files are, and changes when one of them does.
func TestDigest(t *testing.T) {
	dir, _ := testFolder(t, 6)
	f, err := folder.Scan(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := s.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := s.Digest(); d2 != d1 {
		t.Errorf("two digests of unchanged files differ: %s, %s", d1, d2)
	}
	path := filepath.Join(dir, filepath.FromSlash(f.Items[0].File))
	if err := os.WriteFile(path, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d3, _ := s.Digest(); d3 == d1 {
		t.Error("digest unchanged after a file changed")
	}
	os.Remove(path)
	if _, err := s.Digest(); err == nil || !strings.Contains(err.Error(), filepath.Base(path)) {
		t.Errorf("digest of a removed file: %v, want an error naming it", err)
	}
}

// A multi-label folder streams its float32 [B,L] labels bit for bit as the in-memory
// split gives them.
func TestMultiLabelMatchesInMemory(t *testing.T) {
	csvPath := testdata.Path(t, "chestxray14/labels.csv")
	f, err := folder.Load(filepath.Join(filepath.Dir(csvPath), "images"), folder.MultiLabelCSV(csvPath))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Open(f, Workers(2))
	if err != nil {
		t.Fatal(err)
	}
	mem, err := data.NewBatches(f.Images, 32, data.WithShuffle(2))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := st.Batches(32, data.WithShuffle(2))
	if err != nil {
		t.Fatal(err)
	}
	batches := func(ds train.Dataset) (images, labels [][]float32) {
		for b, err := range ds.Iter() {
			if err != nil {
				t.Fatal(err)
			}
			if dims := b.Labels[0].Shape().Dimensions; dims[1] != 14 {
				t.Fatalf("labels of shape %v, want [B 14]", dims)
			}
			images = append(images, tensors.MustCopyFlatData[float32](b.Inputs[0]))
			labels = append(labels, tensors.MustCopyFlatData[float32](b.Labels[0]))
			b.Finalize()
		}
		return images, labels
	}
	wantImg, wantLbl := batches(mem)
	gotImg, gotLbl := batches(sb)
	if len(gotLbl) != 6 || !reflect.DeepEqual(gotImg, wantImg) || !reflect.DeepEqual(gotLbl, wantLbl) {
		t.Fatalf("streamed multi-label batches (%d) differ from the in-memory ones (%d)", len(gotLbl), len(wantLbl))
	}
	if _, err := st.Batches(32, data.WithShuffle(2), data.WithClassBalance()); !errors.Is(err, data.ErrMultiLabel) {
		t.Errorf("class balance on a multi-label folder: %v, want ErrMultiLabel", err)
	}
}
