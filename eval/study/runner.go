package study

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Study is what Run returns: the study's settings (defaults filled in), its finished
// cells in grid order, and its pretrainings with their loss curves.
type Study struct {
	Config       Config
	Results      []Result
	Pretrainings []Pretraining
	// Computed cells in this call, Resumed cells read back from the results files, and
	// Stale lines of the results files whose settings differ from this study's (ignored,
	// kept).
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

// Run runs the study cfg describes, resuming from cfg.OutDir: cells already in a results
// file there with the same settings are read back, the others (of cfg.Shard's part of the
// grid, the whole grid by default) computed in the order of Config.Cells and appended one by
// one. Cancelling ctx, or reaching cfg.StopAfter, stops it between two cells with
// ErrStopped (and the partial Study). Pretraining is checkpointed, so even a process killed
// in the middle of one resumes from its last checkpoint.
func Run(ctx context.Context, cfg Config) (*Study, error) {
	return run(ctx, cfg, true)
}

// Read returns the study cfg describes as far as cfg.OutDir holds it, computing nothing:
// the report of shards that ran elsewhere, or of a study still running.
func Read(cfg Config) (*Study, error) {
	return run(context.Background(), cfg, false)
}

func run(ctx context.Context, cfg Config, compute bool) (*Study, error) {
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
	if compute {
		for _, w := range warnings {
			fmt.Fprintln(cfg.Progress, "study: warning:", w)
		}
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	var log *resultLog
	if compute {
		// Opening (and locking) this process's file first repairs its last line.
		if log, _, err = openResults(filepath.Join(cfg.OutDir, cfg.Shard.resultsFile())); err != nil {
			return nil, err
		}
		defer log.close()
	}
	previous, err := ReadAllResults(cfg.OutDir)
	if err != nil {
		return nil, err
	}

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
	var shardOf []int
	if cfg.Shard.Count > 0 {
		shardOf = cfg.shardOf(set, cells, cfg.Shard.Count)
	}
	var todo []Cell
	for i, c := range cells {
		if _, ok := finished[c.Key()]; ok || !compute || (shardOf != nil && shardOf[i] != cfg.Shard.Index-1) {
			continue
		}
		todo = append(todo, c)
	}
	jobs := jobsOf(cfg, set, todo)
	for _, c := range cells {
		if _, ok := finished[c.Key()]; ok {
			st.Resumed++
		}
	}
	if compute {
		what := fmt.Sprintf("%d cells", len(cells))
		if cfg.Shard.Count > 0 {
			what = fmt.Sprintf("%d cells (shard %s: %d of them)", len(cells), cfg.Shard, countShard(shardOf, cfg.Shard.Index-1))
		}
		fmt.Fprintf(cfg.Progress, "study: %s, %d finished before (read from %s), %d to run",
			what, st.Resumed, cfg.OutDir, len(todo))
		if st.Stale > 0 {
			fmt.Fprintf(cfg.Progress, "; %d lines of other settings ignored", st.Stale)
		}
		if cfg.Workers > 1 {
			fmt.Fprintf(cfg.Progress, "; up to %d jobs at a time (Workers)", cfg.Workers)
		}
		fmt.Fprintln(cfg.Progress)
	}
	pretrainings := 0
	for _, j := range jobs {
		if j.pretrainKey != "" {
			pretrainings++
		}
	}
	prog := newProgress(cfg.Progress, todo, st.Resumed, pretrainings, cfg.Workers)
	stopErr, err := cfg.runJobs(ctx, set, jobs, prog, log, finished, st)
	if err != nil {
		return st, err
	}
	for _, c := range cells {
		if r, ok := finished[c.Key()]; ok {
			st.Results = append(st.Results, r)
		}
	}
	if st.Pretrainings, err = ReadPretrainings(cfg.OutDir); err != nil {
		return st, err
	}
	if !compute {
		return st, nil
	}
	if stopErr != nil {
		fmt.Fprintf(cfg.Progress, "study: stopped with %d of %d cells finished; run again with the same output folder to resume\n", len(st.Results), len(cells))
		return st, stopErr
	}
	if cfg.Shard.Count > 0 {
		fmt.Fprintf(cfg.Progress, "study: shard %s finished (%d computed now, %d of %d cells of the grid finished) in %s\n",
			cfg.Shard, st.Computed, len(st.Results), len(cells), time.Since(prog.start).Round(time.Second))
		return st, nil
	}
	fmt.Fprintf(cfg.Progress, "study: all %d cells finished (%d computed now) in %s\n", len(cells), st.Computed, time.Since(prog.start).Round(time.Second))
	return st, nil
}

func countShard(shardOf []int, s int) int {
	n := 0
	for _, x := range shardOf {
		if x == s {
			n++
		}
	}
	return n
}
