package study

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/gomlx/gomlx/ml/model"
)

// A job is what one worker runs without interruption: a pretraining with the cells that
// use it, or one cell that needs none. Its pretrained store lives as long as the job.
type job struct {
	pretrainKey string // "" for a cell without pretraining
	cells       []Cell
}

// jobsOf groups the cells to compute into jobs. They keep the grid's order of seeds (and
// folds and imbalance ratios), so whole seeds still tend to finish first; within those, the
// jobs with a pretraining, the longest, come first and the single cells fill in beside
// them. The last seed's long jobs can still run alone for the last half minute or so of
// the main job; moving the pretrainings one seed ahead did not shorten it (measured).
func jobsOf(cfg Config, set *settings, todo []Cell) []job {
	type group struct {
		seed      int64
		fold      int
		imbalance float64
	}
	var jobs []job
	var groupOf []int // the rank of each job's group in the grid
	groups := map[group]int{}
	index := map[string]int{}
	for _, c := range todo {
		g := group{c.Seed, c.Fold, c.Imbalance}
		if _, ok := groups[g]; !ok {
			groups[g] = len(groups)
		}
		key := ""
		if c.NeedsPretraining() {
			key = cfg.pretrainKey(set, c)
			if i, ok := index[key]; ok {
				jobs[i].cells = append(jobs[i].cells, c)
				continue
			}
			index[key] = len(jobs)
		}
		jobs = append(jobs, job{pretrainKey: key, cells: []Cell{c}})
		groupOf = append(groupOf, groups[g])
	}
	order := make([]int, len(jobs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ja, jb := order[a], order[b]
		if groupOf[ja] != groupOf[jb] {
			return groupOf[ja] < groupOf[jb]
		}
		return jobs[ja].pretrainKey != "" && jobs[jb].pretrainKey == ""
	})
	sorted := make([]job, len(jobs))
	for i, j := range order {
		sorted[i] = jobs[j]
	}
	return sorted
}

// runJobs computes the jobs on cfg.Workers goroutines (at least one), appending each
// finished cell to log and finished and counting it in st. Every cell depends only on its
// settings and seed, never on what else runs, so the results are those of one worker in
// another order (checked digit for digit on the main job). It returns ErrStopped (wrapped)
// when ctx is cancelled or StopAfter cells are computed, and the first error a cell or
// pretraining returns; either way no new cell starts, and the running ones finish.
func (cfg *Config) runJobs(ctx context.Context, set *settings, jobs []job, prog *progress, log *resultLog,
	finished map[string]Result, st *Study) (stopErr, err error) {
	var (
		mu      sync.Mutex // guards everything below, log, finished, st and prog
		next    int        // the next job to hand out
		started int        // cells started in this call, for StopAfter
	)
	// mayStart reports whether more work may start, recording why not; mu is held.
	mayStart := func() bool {
		if err != nil || stopErr != nil {
			return false
		}
		if e := ctx.Err(); e != nil {
			stopErr = fmt.Errorf("%w: %v", ErrStopped, e)
			return false
		}
		if cfg.StopAfter > 0 && started >= cfg.StopAfter {
			stopErr = fmt.Errorf("%w: StopAfter %d cells", ErrStopped, cfg.StopAfter)
			return false
		}
		return true
	}
	fail := func(e error) {
		mu.Lock()
		if err == nil {
			err = e
		}
		mu.Unlock()
	}
	runJob := func(j job) {
		var pre *model.Store
		if j.pretrainKey != "" {
			mu.Lock()
			ok := mayStart()
			if ok {
				prog.pretrainStart(j.pretrainKey)
			}
			mu.Unlock()
			if !ok {
				return
			}
			t0 := time.Now()
			store, rec, e := cfg.pretrain(set, j.cells[0])
			if e != nil {
				fail(e)
				return
			}
			pre = store
			mu.Lock()
			prog.pretrainDone(rec, time.Since(t0).Seconds())
			mu.Unlock()
		}
		for _, c := range j.cells {
			mu.Lock()
			ok := mayStart()
			if ok {
				started++
				if cfg.OnCell != nil {
					cfg.OnCell(c)
				}
				prog.cellStart(c)
			}
			mu.Unlock()
			if !ok {
				return
			}
			r, e := cfg.runCell(set, c, pre)
			if e != nil {
				fail(fmt.Errorf("study: %s: %w", c.Key(), e))
				return
			}
			r.Pretraining = j.pretrainKey
			mu.Lock()
			if e = log.append(r); e == nil {
				finished[c.Key()] = r
				st.Computed++
				prog.cellDone(r)
			}
			mu.Unlock()
			if e != nil {
				fail(e)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for range max(1, min(cfg.Workers, len(jobs))) {
		wg.Go(func() {
			for {
				mu.Lock()
				if next == len(jobs) || !mayStart() {
					mu.Unlock()
					return
				}
				j := jobs[next]
				next++
				mu.Unlock()
				runJob(j)
			}
		})
	}
	wg.Wait()
	return stopErr, err
}
