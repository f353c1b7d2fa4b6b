package study

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/ml/model"
)

// Study is what Run returns: the study's settings (defaults filled in), its finished
// cells in grid order, and its pretrainings with their loss curves.
type Study struct {
	Config       Config
	Results      []Result
	Pretrainings []Pretraining
	// Computed cells in this call, Resumed cells read back from results.jsonl, and Stale
	// lines of results.jsonl whose settings differ from this study's (ignored, kept).
	Computed, Resumed, Stale int
	// Cells is the size of the whole grid; Done reports whether every cell is finished.
	Cells int
	// Warnings are problems of the data that leave the study meaningful but qualify it (a
	// class missing from the test split or from a cell's labelled images); the report
	// lists them.
	Warnings []string
}

// Done tells whether every cell of the grid is finished.
func (s *Study) Done() bool { return len(s.Results) == s.Cells }

// Run runs the study cfg describes, resuming from cfg.OutDir: cells already in
// results.jsonl with the same settings are read back, the others computed in the order of
// Config.Cells and appended one by one. Cancelling ctx, or reaching cfg.StopAfter, stops it
// between two cells with ErrStopped (and the partial Study). Pretraining is checkpointed,
// so even a process killed in the middle of one resumes from its last checkpoint.
func Run(ctx context.Context, cfg Config) (*Study, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set, err := cfg.fingerprints()
	if err != nil {
		return nil, err
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	warnings, err := cfg.checkLabels()
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintln(cfg.Progress, "study: warning:", w)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	log, previous, err := openResults(filepath.Join(cfg.OutDir, ResultsFile))
	if err != nil {
		return nil, err
	}
	defer log.close()

	cells := cfg.cells()
	st := &Study{Config: cfg, Cells: len(cells), Warnings: warnings}
	finished := map[string]Result{}
	for _, r := range previous {
		if r.Fingerprint != cfg.fingerprint(set, r.Cell) {
			st.Stale++
			continue
		}
		finished[r.Key()] = r
	}
	var todo []Cell
	pretrainsLeft := map[string]bool{}
	for _, c := range cells {
		if _, ok := finished[c.Key()]; ok {
			continue
		}
		todo = append(todo, c)
		if c.NeedsPretraining() {
			pretrainsLeft[cfg.pretrainKey(set, c)] = true
		}
	}
	st.Resumed = len(cells) - len(todo)
	prog := newProgress(cfg.Progress, todo, st.Resumed, len(pretrainsLeft))
	fmt.Fprintf(cfg.Progress, "study: %d cells, %d finished before (read from %s), %d to run",
		len(cells), st.Resumed, filepath.Join(cfg.OutDir, ResultsFile), len(todo))
	if st.Stale > 0 {
		fmt.Fprintf(cfg.Progress, "; %d lines of other settings ignored", st.Stale)
	}
	fmt.Fprintln(cfg.Progress)

	// Pretrained stores of the current (seed, imbalance): the cells that need them are
	// consecutive, so older ones are dropped.
	type group struct {
		seed      int64
		imbalance float64
	}
	var current group
	stores := map[string]*model.Store{}
	var stopErr error
	for _, c := range todo {
		if err := ctx.Err(); err != nil {
			stopErr = fmt.Errorf("%w: %v", ErrStopped, err)
			break
		}
		if cfg.StopAfter > 0 && st.Computed >= cfg.StopAfter {
			stopErr = fmt.Errorf("%w: StopAfter %d cells", ErrStopped, cfg.StopAfter)
			break
		}
		if g := (group{c.Seed, c.Imbalance}); g != current {
			current, stores = g, map[string]*model.Store{}
		}
		var pre *model.Store
		if c.NeedsPretraining() {
			key := cfg.pretrainKey(set, c)
			if pre = stores[key]; pre == nil {
				prog.pretrainStart(key)
				t0 := time.Now()
				imbalanced, _, err := cfg.splits(c)
				if err != nil {
					return st, err
				}
				store, rec, err := cfg.pretrain(set, c, imbalanced)
				if err != nil {
					return st, err
				}
				stores[key], pre = store, store
				if pretrainsLeft[key] {
					delete(pretrainsLeft, key)
					prog.pretrainDone(rec, time.Since(t0).Seconds(), true)
				}
			}
		}
		if cfg.OnCell != nil {
			cfg.OnCell(c)
		}
		prog.cellStart(c)
		r, err := cfg.runCell(set, c, pre)
		if err != nil {
			return st, fmt.Errorf("study: %s: %w", c.Key(), err)
		}
		if c.NeedsPretraining() {
			r.Pretraining = cfg.pretrainKey(set, c)
		}
		if err := log.append(r); err != nil {
			return st, err
		}
		finished[c.Key()] = r
		st.Computed++
		prog.cellDone(r)
	}
	for _, c := range cells {
		if r, ok := finished[c.Key()]; ok {
			st.Results = append(st.Results, r)
		}
	}
	if st.Pretrainings, err = ReadPretrainings(cfg.OutDir); err != nil {
		return st, err
	}
	if stopErr != nil {
		fmt.Fprintf(cfg.Progress, "study: stopped with %d of %d cells finished; run again with the same output folder to resume\n", len(st.Results), len(cells))
		return st, stopErr
	}
	fmt.Fprintf(cfg.Progress, "study: all %d cells finished (%d computed now) in %s\n", len(cells), st.Computed, time.Since(prog.start).Round(time.Second))
	return st, nil
}
