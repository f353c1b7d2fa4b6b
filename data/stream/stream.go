// Package stream serves the images of an image folder (package data/folder) from disk on
// demand, for datasets larger than memory: a Stream decodes files in parallel ahead of
// use, keeps the decoded images in a cache bounded in bytes, and serves them as a
// data.Source for pretraining and as labelled batches for supervised training, bit for
// bit the batches the same folder gives when loaded into memory.
package stream

import (
	"container/list"
	"crypto/sha256"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/data/folder"
)

// Stream serves a folder's images from disk on demand, for datasets larger than memory.
//
// Decoded images (after resizing, as uint8) are kept in an LRU cache bounded in bytes;
// a small pool of workers decodes files in parallel and prefetches the next batches while
// the current one trains, so I/O overlaps computation. Memory is bounded whatever the
// number of files: the cache capacity, plus (Prefetch + 2) batches in flight, plus the
// file list.
//
// A Stream is a data.Source (ImageBatches, for pretraining) and makes labelled batches
// (Batches, for supervised training) with the same layout, visiting order and options as
// the in-memory data.NewBatches: streaming a folder gives bit for bit the batches of the
// same folder loaded with folder.Load. It is safe for concurrent use.
type Stream struct {
	folder   *folder.Folder
	cache    *imageCache
	workers  int
	prefetch int

	mu      sync.Mutex
	bad     map[int]error // files found bad while streaming (folder.SkipBadFiles mode)
	skipped data.BadFiles
	decoded atomic.Int64
}

// Option configures Open.
type Option func(*Stream)

// DefaultCacheBytes is the default cache capacity: 256 MB.
const DefaultCacheBytes = 256 << 20

// CacheBytes sets the cache capacity in bytes (default DefaultCacheBytes; 0 disables the
// cache). Each entry counts its pixel bytes plus a fixed 128 bytes (entryOverhead) for
// its bookkeeping.
func CacheBytes(n int64) Option { return func(s *Stream) { s.cache.capacity = n } }

// Workers sets the number of decoding goroutines (default GOMAXPROCS).
func Workers(n int) Option { return func(s *Stream) { s.workers = n } }

// Prefetch sets how many batches are decoded ahead of the one being used (default 2).
func Prefetch(n int) Option { return func(s *Stream) { s.prefetch = n } }

// Open streams the images of f (from folder.Scan, folder.Load or Folder.Select), decoded
// with f's options (size, channels, 16-bit range; see Folder.Decode). When f skips bad
// files (folder.SkipBadFiles) a file that fails to decode while streaming is reported in
// Skipped and its place is taken by the next good file in folder order (so batches stay
// full and the stream stays reproducible); otherwise the batch iterator yields the file's
// error.
func Open(f *folder.Folder, opts ...Option) (*Stream, error) {
	if f == nil || len(f.Items) == 0 {
		return nil, fmt.Errorf("stream: Open: empty folder: %w", data.ErrArgument)
	}
	s := &Stream{folder: f, cache: newImageCache(DefaultCacheBytes), workers: runtime.GOMAXPROCS(0),
		prefetch: 2, bad: map[int]error{}}
	for _, o := range opts {
		o(s)
	}
	if s.cache.capacity < 0 || s.workers < 1 || s.prefetch < 0 {
		return nil, fmt.Errorf("stream: Open: cache %d bytes, %d workers, prefetch %d: %w",
			s.cache.capacity, s.workers, s.prefetch, data.ErrArgument)
	}
	return s, nil
}

// Len implements data.Source.
func (s *Stream) Len() int { return len(s.folder.Items) }

// ImageShape implements data.Source.
func (s *Stream) ImageShape() (h, w, c int) {
	return s.folder.Height, s.folder.Width, s.folder.Channels
}

// Folder returns the folder the stream reads.
func (s *Stream) Folder() *folder.Folder { return s.folder }

// ImageBatches implements data.Source: endless shuffled image batches, as
// data.Split.ImageBatches.
func (s *Stream) ImageBatches(batchSize int, seed int64, skip int) (train.Dataset, error) {
	return s.Batches(batchSize, data.WithShuffle(seed), data.WithRepeat(), data.WithImagesOnly(), data.WithSkip(skip))
}

// Batches returns the stream as a train.Dataset with data.NewBatches' options and layout:
// Inputs {float32 [B,H,W,C] in [0,1]}, Labels {int32 [B]}, or {float32 [B,L]} of 0/1 for a
// multi-label folder (none with data.WithImagesOnly).
func (s *Stream) Batches(batchSize int, opts ...data.BatchOption) (*Batches, error) {
	f := s.folder
	stub := &data.Split{Name: filepath.Base(f.Dir), N: len(f.Items), Height: f.Height, Width: f.Width, Channels: f.Channels,
		LabelDim: f.LabelDim(), Task: f.Task(), NumClasses: f.NumClasses()}
	b, err := data.NewBatches(stub, batchSize, opts...)
	if err != nil {
		return nil, err
	}
	return &Batches{b: b, stream: s}, nil
}

// Skipped returns the files left out: at scan or load time and while streaming.
func (s *Stream) Skipped() data.BadFiles {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(slices.Clone(s.folder.Skipped), s.skipped...)
}

// Stats reports a stream's cache and decoding counters.
type Stats struct {
	CacheCapacity  int64 // bytes
	CacheBytes     int64 // bytes held now
	CachePeakBytes int64 // most bytes ever held; never above CacheCapacity
	CacheEntries   int
	Hits, Misses   int64 // cache lookups
	Evictions      int64
	Decoded        int64 // files decoded
}

// Stats returns the current counters.
func (s *Stream) Stats() Stats {
	st := s.cache.stats()
	st.Decoded = s.decoded.Load()
	return st
}

// Image returns item i decoded ([H,W,C] bytes), through the cache. The slice is shared
// with the cache: do not change it.
func (s *Stream) Image(i int) ([]uint8, error) {
	if i < 0 || i >= len(s.folder.Items) {
		return nil, fmt.Errorf("stream: Image(%d): out of range [0, %d): %w", i, len(s.folder.Items), data.ErrArgument)
	}
	if pix, ok := s.cache.get(i); ok {
		return pix, nil
	}
	s.mu.Lock()
	err := s.bad[i]
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	pix, err := s.folder.Decode(i)
	s.decoded.Add(1)
	if err != nil {
		return nil, err
	}
	s.cache.put(i, pix)
	return pix, nil
}

// goodImage returns item i, or when the folder skips bad files the first good item from i
// on in folder order (wrapping), recording bad ones, with the index of the item served.
func (s *Stream) goodImage(i int) ([]uint8, int, error) {
	n := len(s.folder.Items)
	for k := range n {
		j := (i + k) % n
		pix, err := s.Image(j)
		if err == nil {
			return pix, j, nil
		}
		if !s.folder.SkipsBadFiles() {
			return nil, 0, err
		}
		s.mu.Lock()
		if _, seen := s.bad[j]; !seen {
			s.bad[j] = err
			s.skipped = append(s.skipped, data.BadFile{File: s.folder.Items[j].File, Err: err})
		}
		s.mu.Unlock()
	}
	return nil, 0, fmt.Errorf("stream: %s: every file is bad: %w", s.folder.Dir, data.ErrArgument)
}

// Batches is a Stream served in batches; see Stream.Batches. Its epochs, orders and
// options are those of data.Batches.
type Batches struct {
	b      *data.Batches // options, epoch counter and visiting orders
	stream *Stream
}

// Name implements train.Dataset.
func (sb *Batches) Name() string { return sb.b.Name() }

// Reset sets the epoch counter back to 0.
func (sb *Batches) Reset() { sb.b.Reset() }

// Epoch returns the epoch the next index batch is drawn from. Prefetching draws ahead, so
// while an Iter runs it may be past the epoch being trained on.
func (sb *Batches) Epoch() int { return sb.b.Epoch() }

// StepsPerEpoch returns the number of batches in one epoch, as data.Batches.StepsPerEpoch.
func (sb *Batches) StepsPerEpoch() int { return sb.b.StepsPerEpoch() }

// pending is one batch being decoded.
type pending struct {
	idx    []int
	images []float32
	labels []int32   // single-label: [B]
	multi  []float32 // multi-label: [B*L]
	errs   []error
	wg     sync.WaitGroup
}

// job asks a worker for example k of batch p.
type job struct {
	p *pending
	k int
}

// Iter implements train.Dataset: a dispatcher goroutine hands the images of upcoming
// batches to the workers and queues up to Prefetch batches; Iter waits for each batch in
// order. Stopping the iteration stops the goroutines before Iter returns.
func (sb *Batches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		s := sb.stream
		h, w, c := s.ImageShape()
		sz := h * w * c
		L := 1
		if s.folder.MultiLabel {
			L = s.folder.LabelDim()
		}
		done := make(chan struct{})
		jobs := make(chan job, s.workers)
		ready := make(chan *pending, s.prefetch)
		var running sync.WaitGroup
		for range s.workers {
			running.Go(func() {
				for j := range jobs {
					pix, item, err := s.goodImage(j.p.idx[j.k])
					if err == nil {
						dst := j.p.images[j.k*sz : (j.k+1)*sz]
						for i, v := range pix {
							dst[i] = float32(v) / 255
						}
						if it := s.folder.Items[item]; L > 1 {
							for l, v := range it.Labels {
								j.p.multi[j.k*L+l] = float32(v)
							}
						} else {
							j.p.labels[j.k] = int32(it.Label)
						}
					}
					j.p.errs[j.k] = err
					j.p.wg.Done()
				}
			})
		}
		running.Go(func() {
			defer close(ready)
			defer close(jobs)
			for idx := range sb.b.BatchIndices() {
				p := &pending{idx: idx, images: make([]float32, len(idx)*sz), labels: make([]int32, len(idx)), errs: make([]error, len(idx))}
				if L > 1 {
					p.multi = make([]float32, len(idx)*L)
				}
				p.wg.Add(len(idx))
				for k := range idx {
					select {
					case jobs <- job{p, k}:
					case <-done:
						return
					}
				}
				select {
				case ready <- p:
				case <-done:
					return
				}
			}
		})
		defer func() {
			close(done)
			for range ready {
			}
			running.Wait()
		}()
		for p := range ready {
			p.wg.Wait()
			for _, err := range p.errs {
				if err != nil {
					yield(train.Batch{}, err)
					return
				}
			}
			batch := train.Batch{Inputs: []*tensors.Tensor{tensors.FromFlatDataAndDimensions(p.images, len(p.idx), h, w, c)}}
			switch {
			case sb.b.ImagesOnly():
			case L > 1:
				batch.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(p.multi, len(p.idx), L)}
			default:
				batch.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(p.labels, len(p.idx))}
			}
			if !yield(batch, nil) {
				return
			}
		}
	}
}

var (
	_ data.Source   = (*Stream)(nil)
	_ train.Dataset = (*Batches)(nil)
)

// entryOverhead is the bytes each cache entry is charged beyond its pixels (list
// element, map slot, slice header), so that many tiny images still respect the capacity.
const entryOverhead = 128

// imageCache is an LRU cache of decoded images bounded in bytes.
type imageCache struct {
	mu                      sync.Mutex
	capacity, bytes, peak   int64
	hits, misses, evictions int64
	lru                     *list.List // of *cacheEntry, most recent first
	items                   map[int]*list.Element
}

// cacheEntry is one decoded image, keyed by its item index.
type cacheEntry struct {
	key int
	pix []uint8
}

func newImageCache(capacity int64) *imageCache {
	return &imageCache{capacity: capacity, lru: list.New(), items: map[int]*list.Element{}}
}

func (c *imageCache) get(key int) ([]uint8, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.hits++
		c.lru.MoveToFront(e)
		return e.Value.(*cacheEntry).pix, true
	}
	c.misses++
	return nil, false
}

// put adds an entry, evicting the least recently used ones to stay within capacity. An
// image larger than the whole capacity is not cached.
func (c *imageCache) put(key int, pix []uint8) {
	cost := int64(len(pix)) + entryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok || cost > c.capacity {
		return
	}
	for c.bytes+cost > c.capacity {
		last := c.lru.Back()
		old := c.lru.Remove(last).(*cacheEntry)
		delete(c.items, old.key)
		c.bytes -= int64(len(old.pix)) + entryOverhead
		c.evictions++
	}
	c.items[key] = c.lru.PushFront(&cacheEntry{key: key, pix: pix})
	c.bytes += cost
	c.peak = max(c.peak, c.bytes)
}

func (c *imageCache) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{CacheCapacity: c.capacity, CacheBytes: c.bytes, CachePeakBytes: c.peak,
		CacheEntries: len(c.items), Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}

// Digest identifies the stream's content without reading every image: a hash of the
// folder's path and image shape and of each file's name, size and modification time
// (what make-style tools trust), so that a study notices a pool whose files changed.
func (s *Stream) Digest() (string, error) {
	f := s.folder
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%dx%dx%d\x00", f.Dir, f.Height, f.Width, f.Channels)
	for _, it := range f.Items {
		path := it.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(f.Dir, filepath.FromSlash(path))
		}
		st, err := os.Stat(path)
		if err != nil {
			return "", fmt.Errorf("stream: %w", err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", it.File, st.Size(), st.ModTime().UnixNano())
	}
	return fmt.Sprintf("%d:%x", len(f.Items), h.Sum(nil)[:8]), nil
}
