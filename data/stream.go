package data

import (
	"container/list"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/train"
)

// Stream serves a folder's images from disk on demand, for datasets larger than memory.
//
// Decoded images (after resizing, as uint8) are kept in an LRU cache bounded in bytes;
// a small pool of workers decodes files in parallel and prefetches the next batches while
// the current one trains, so I/O overlaps computation. Memory is bounded whatever the
// number of files: the cache capacity, plus (Prefetch + 2) batches in flight, plus the
// file list.
//
// A Stream is a Source (ImageBatches, for pretraining) and makes labelled batches
// (Batches, for supervised training) with the same layout, visiting order and options as
// the in-memory NewBatches: streaming a folder gives bit for bit the batches of the same
// folder loaded with LoadImageFolder. It is safe for concurrent use.
type Stream struct {
	folder   *ImageFolder
	cache    *streamCache
	workers  int
	prefetch int

	mu      sync.Mutex
	bad     map[int]error // files found bad while streaming (SkipBadFiles mode)
	skipped BadFiles
	decoded atomic.Int64
}

// StreamOption configures OpenStream.
type StreamOption func(*Stream)

// DefaultStreamCacheBytes is the default cache capacity: 256 MB.
const DefaultStreamCacheBytes = 256 << 20

// StreamCacheBytes sets the cache capacity in bytes (default DefaultStreamCacheBytes; 0
// disables the cache). Each entry counts its pixel bytes plus streamEntryOverhead.
func StreamCacheBytes(n int64) StreamOption { return func(s *Stream) { s.cache.capacity = n } }

// StreamWorkers sets the number of decoding goroutines (default GOMAXPROCS).
func StreamWorkers(n int) StreamOption { return func(s *Stream) { s.workers = n } }

// StreamPrefetch sets how many batches are decoded ahead of the one being used (default 2).
func StreamPrefetch(n int) StreamOption { return func(s *Stream) { s.prefetch = n } }

// OpenStream streams the images of f (from ScanImageFolder, LoadImageFolder or Select),
// decoded with f's options (size, channels, 16-bit range, SkipBadFiles). With
// SkipBadFiles a file that fails to decode while streaming is reported in Skipped and its
// place is taken by the next good file in folder order (so batches stay full and the
// stream stays reproducible); without it the batch iterator yields the file's error.
func OpenStream(f *ImageFolder, opts ...StreamOption) (*Stream, error) {
	if f == nil || len(f.Items) == 0 {
		return nil, fmt.Errorf("data: OpenStream: empty folder: %w", ErrArgument)
	}
	s := &Stream{folder: f, cache: newStreamCache(DefaultStreamCacheBytes), workers: runtime.GOMAXPROCS(0),
		prefetch: 2, bad: map[int]error{}}
	for _, o := range opts {
		o(s)
	}
	if s.cache.capacity < 0 || s.workers < 1 || s.prefetch < 0 {
		return nil, fmt.Errorf("data: OpenStream: cache %d bytes, %d workers, prefetch %d: %w",
			s.cache.capacity, s.workers, s.prefetch, ErrArgument)
	}
	return s, nil
}

// Len implements Source.
func (s *Stream) Len() int { return len(s.folder.Items) }

// ImageShape implements Source.
func (s *Stream) ImageShape() (h, w, c int) {
	return s.folder.Height, s.folder.Width, s.folder.Channels
}

// Folder returns the folder the stream reads.
func (s *Stream) Folder() *ImageFolder { return s.folder }

// ImageBatches implements Source: endless shuffled image batches, as Split.ImageBatches.
func (s *Stream) ImageBatches(batchSize int, seed int64, skip int) (train.Dataset, error) {
	return s.Batches(batchSize, WithShuffle(seed), WithRepeat(), WithImagesOnly(), WithSkip(skip))
}

// Batches returns the stream as a train.Dataset with NewBatches' options and layout:
// Inputs {float32 [B,H,W,C] in [0,1]}, Labels {int32 [B]} (none with WithImagesOnly).
func (s *Stream) Batches(batchSize int, opts ...BatchOption) (*StreamBatches, error) {
	f := s.folder
	stub := &Split{Name: baseName(f.Dir), N: len(f.Items), Height: f.Height, Width: f.Width, Channels: f.Channels,
		LabelDim: 1, Task: f.Task(), NumClasses: f.NumClasses()}
	b, err := NewBatches(stub, batchSize, opts...)
	if err != nil {
		return nil, err
	}
	return &StreamBatches{b: b, stream: s}, nil
}

// Skipped returns the files left out: at scan or load time and while streaming.
func (s *Stream) Skipped() BadFiles {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(slices.Clone(s.folder.Skipped), s.skipped...)
}

// StreamStats reports a stream's cache and decoding counters.
type StreamStats struct {
	CacheCapacity  int64 // bytes
	CacheBytes     int64 // bytes held now
	CachePeakBytes int64 // most bytes ever held; never above CacheCapacity
	CacheEntries   int
	Hits, Misses   int64 // cache lookups
	Evictions      int64
	Decoded        int64 // files decoded
}

// Stats returns the current counters.
func (s *Stream) Stats() StreamStats {
	st := s.cache.stats()
	st.Decoded = s.decoded.Load()
	return st
}

// Image returns item i decoded ([H,W,C] bytes), through the cache. The slice is shared
// with the cache: do not change it.
func (s *Stream) Image(i int) ([]uint8, error) {
	if i < 0 || i >= len(s.folder.Items) {
		return nil, fmt.Errorf("data: Stream.Image(%d): out of range [0, %d): %w", i, len(s.folder.Items), ErrArgument)
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
	pix, err := s.folder.decodeFile(s.folder.Items[i].File)
	s.decoded.Add(1)
	if err != nil {
		return nil, err
	}
	s.cache.put(i, pix)
	return pix, nil
}

// goodImage returns item i, or in SkipBadFiles mode the first good item from i on in
// folder order (wrapping), recording bad ones.
func (s *Stream) goodImage(i int) ([]uint8, int32, error) {
	n := len(s.folder.Items)
	for k := range n {
		j := (i + k) % n
		pix, err := s.Image(j)
		if err == nil {
			return pix, int32(s.folder.Items[j].Label), nil
		}
		if !s.folder.cfg.skipBad {
			return nil, 0, err
		}
		s.mu.Lock()
		if _, seen := s.bad[j]; !seen {
			s.bad[j] = err
			s.skipped = append(s.skipped, BadFile{File: s.folder.Items[j].File, Err: err})
		}
		s.mu.Unlock()
	}
	return nil, 0, fmt.Errorf("data: %s: every file is bad: %w", s.folder.Dir, ErrArgument)
}

// StreamBatches is a Stream served in batches; see Stream.Batches. Its epochs, orders and
// options are those of Batches.
type StreamBatches struct {
	b      *Batches // options, epoch counter and visiting orders
	stream *Stream
}

// Name implements train.Dataset.
func (sb *StreamBatches) Name() string { return sb.b.Name() }

// Reset sets the epoch counter back to 0.
func (sb *StreamBatches) Reset() { sb.b.Reset() }

// Epoch returns the epoch the next index batch is drawn from. Prefetching draws ahead, so
// while an Iter runs it may be past the epoch being trained on.
func (sb *StreamBatches) Epoch() int { return sb.b.Epoch() }

// StepsPerEpoch returns the number of batches in one epoch, as Batches.StepsPerEpoch.
func (sb *StreamBatches) StepsPerEpoch() int { return sb.b.StepsPerEpoch() }

// indices yields each batch's example indices in the order Batches.Iter serves them.
func (sb *StreamBatches) indices() iter.Seq[[]int] { return sb.b.batchIndices() }

// streamPending is one batch being decoded.
type streamPending struct {
	idx    []int
	images []float32
	labels []int32
	errs   []error
	wg     sync.WaitGroup
}

type streamJob struct {
	p *streamPending
	k int
}

// Iter implements train.Dataset: a dispatcher goroutine hands the images of upcoming
// batches to the workers and queues up to Prefetch batches; Iter waits for each batch in
// order. Stopping the iteration stops the goroutines before Iter returns.
func (sb *StreamBatches) Iter() iter.Seq2[train.Batch, error] {
	return func(yield func(train.Batch, error) bool) {
		s := sb.stream
		h, w, c := s.ImageShape()
		sz := h * w * c
		done := make(chan struct{})
		jobs := make(chan streamJob, s.workers)
		ready := make(chan *streamPending, s.prefetch)
		var running sync.WaitGroup
		for range s.workers {
			running.Go(func() {
				for j := range jobs {
					pix, label, err := s.goodImage(j.p.idx[j.k])
					if err == nil {
						dst := j.p.images[j.k*sz : (j.k+1)*sz]
						for i, v := range pix {
							dst[i] = float32(v) / 255
						}
						j.p.labels[j.k] = label
					}
					j.p.errs[j.k] = err
					j.p.wg.Done()
				}
			})
		}
		running.Go(func() {
			defer close(ready)
			defer close(jobs)
			for idx := range sb.indices() {
				p := &streamPending{idx: idx, images: make([]float32, len(idx)*sz), labels: make([]int32, len(idx)), errs: make([]error, len(idx))}
				p.wg.Add(len(idx))
				for k := range idx {
					select {
					case jobs <- streamJob{p, k}:
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
			if !sb.b.imagesOnly {
				batch.Labels = []*tensors.Tensor{tensors.FromFlatDataAndDimensions(p.labels, len(p.idx))}
			}
			if !yield(batch, nil) {
				return
			}
		}
	}
}

var (
	_ Source        = (*Stream)(nil)
	_ train.Dataset = (*StreamBatches)(nil)
)

// streamEntryOverhead is the bytes each cache entry is charged beyond its pixels (list
// element, map slot, slice header), so that many tiny images still respect the capacity.
const streamEntryOverhead = 128

// streamCache is an LRU cache of decoded images bounded in bytes.
type streamCache struct {
	mu                      sync.Mutex
	capacity, bytes, peak   int64
	hits, misses, evictions int64
	lru                     *list.List // of *streamEntry, most recent first
	items                   map[int]*list.Element
}

type streamEntry struct {
	key int
	pix []uint8
}

func newStreamCache(capacity int64) *streamCache {
	return &streamCache{capacity: capacity, lru: list.New(), items: map[int]*list.Element{}}
}

func (c *streamCache) get(key int) ([]uint8, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.hits++
		c.lru.MoveToFront(e)
		return e.Value.(*streamEntry).pix, true
	}
	c.misses++
	return nil, false
}

// put adds an entry, evicting the least recently used ones to stay within capacity. An
// image larger than the whole capacity is not cached.
func (c *streamCache) put(key int, pix []uint8) {
	cost := int64(len(pix)) + streamEntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok || cost > c.capacity {
		return
	}
	for c.bytes+cost > c.capacity {
		last := c.lru.Back()
		old := c.lru.Remove(last).(*streamEntry)
		delete(c.items, old.key)
		c.bytes -= int64(len(old.pix)) + streamEntryOverhead
		c.evictions++
	}
	c.items[key] = c.lru.PushFront(&streamEntry{key: key, pix: pix})
	c.bytes += cost
	c.peak = max(c.peak, c.bytes)
}

func (c *streamCache) stats() StreamStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return StreamStats{CacheCapacity: c.capacity, CacheBytes: c.bytes, CachePeakBytes: c.peak,
		CacheEntries: len(c.items), Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}
