package study

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Shard is one part of a study's grid, for running a study as several processes or on
// several machines: Index (1 to Count) of Count. The zero Shard is the whole grid.
//
// Every cell belongs to exactly one shard, and the cells that share a pretraining belong to
// the same one, so no pretraining runs twice: the pretrainings are dealt out in grid order
// (the i-th to shard i mod Count), then the cells without one (the j-th to shard
// Count-1 - j mod Count, so that they fill the shards the pretrainings left light).
//
// Each shard appends to its own results file (results-shard-<i>-of-<n>.jsonl) under the
// same OutDir and reads every results*.jsonl there to resume, so shards can share a folder
// (a network file system) or run in separate folders merged afterwards (Merge). A shard's
// results file is locked while it runs: the same shard started twice stops with an error
// instead of computing cells twice. When every shard has finished, a run without Shard on
// the same folder reads all cells, computes nothing, and writes the whole report.
type Shard struct {
	Index, Count int
}

// ParseShard reads "i/n" (1 ≤ i ≤ n), the form of the examples' -shard flag; "" is the
// whole grid.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	i, n, ok := strings.Cut(s, "/")
	idx, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	sh := Shard{idx, count}
	if !ok || err1 != nil || err2 != nil || sh.validate() != nil || sh.Count == 0 {
		return Shard{}, fmt.Errorf("study: shard %q, want i/n with 1 ≤ i ≤ n, such as 2/3", s)
	}
	return sh, nil
}

func (s Shard) String() string {
	if s.Count == 0 {
		return "whole grid"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

func (s Shard) validate() error {
	if s == (Shard{}) || (s.Count >= 1 && s.Index >= 1 && s.Index <= s.Count) {
		return nil
	}
	return fmt.Errorf("study: shard %d of %d, want 1 ≤ index ≤ count", s.Index, s.Count)
}

// resultsFile is the file under OutDir this shard appends to.
func (s Shard) resultsFile() string {
	if s.Count == 0 {
		return ResultsFile
	}
	return fmt.Sprintf("results-shard-%d-of-%d.jsonl", s.Index, s.Count)
}

// shardOf returns, for each of cells (the whole grid in order), the 0-based shard it
// belongs to among count (see Shard).
func (c *Config) shardOf(set *settings, cells []Cell, count int) []int {
	out := make([]int, len(cells))
	unit := map[string]int{}
	solo := 0
	for i, cell := range cells {
		if !cell.NeedsPretraining() {
			out[i] = count - 1 - solo%count
			solo++
			continue
		}
		key := c.pretrainKey(set, cell)
		u, ok := unit[key]
		if !ok {
			u = len(unit)
			unit[key] = u
		}
		out[i] = u % count
	}
	return out
}

// resultFiles lists the results files under dir: results.jsonl and every shard's.
func resultFiles(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "results*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	return files, nil
}

// ReadAllResults reads every results file under dir (results.jsonl and the shards'),
// whatever settings they were computed with. Lines another process is writing right now
// (a last line without its newline) are left for later.
func ReadAllResults(dir string) ([]Result, error) {
	files, err := resultFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("study: %w", err)
		}
		rs, _, err := parseResults(b, f)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// Merged says what Merge did.
type Merged struct {
	Results, Duplicates, Pretrainings int
}

// Merge gathers study folders computed apart (shards on machines without a shared file
// system) into dst: every result line not already in dst (same cell and settings
// fingerprint) is appended to dst's results.jsonl, and every pretraining folder dst lacks
// (or has with fewer steps) is copied, checkpoints included. Nothing is recomputed or
// overwritten with less. Then run the study on dst without Shard to write the report.
func Merge(dst string, srcs ...string) (Merged, error) {
	var m Merged
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return m, fmt.Errorf("study: %w", err)
	}
	have, err := ReadAllResults(dst)
	if err != nil {
		return m, err
	}
	seen := map[[2]string]bool{}
	for _, r := range have {
		seen[[2]string{r.Key(), r.Fingerprint}] = true
	}
	log, _, err := openResults(filepath.Join(dst, ResultsFile))
	if err != nil {
		return m, err
	}
	defer log.close()
	for _, src := range srcs {
		if same, err := sameDir(src, dst); err != nil || same {
			if err == nil {
				err = fmt.Errorf("study: Merge: %s is the destination", src)
			}
			return m, err
		}
		if _, err := os.Stat(src); err != nil {
			return m, fmt.Errorf("study: Merge: %w", err)
		}
		rs, err := ReadAllResults(src)
		if err != nil {
			return m, err
		}
		for _, r := range rs {
			k := [2]string{r.Key(), r.Fingerprint}
			if seen[k] {
				m.Duplicates++
				continue
			}
			seen[k] = true
			if err := log.append(r); err != nil {
				return m, err
			}
			m.Results++
		}
		pres, err := ReadPretrainings(src)
		if err != nil {
			return m, err
		}
		for _, p := range pres {
			old, err := readPretraining(filepath.Join(dst, PretrainDir, p.Name, LossFile))
			if err != nil {
				return m, err
			}
			if old != nil && old.Steps >= p.Steps {
				continue
			}
			if err := copyDir(filepath.Join(src, PretrainDir, p.Name), filepath.Join(dst, PretrainDir, p.Name)); err != nil {
				return m, err
			}
			m.Pretrainings++
		}
	}
	return m, nil
}

func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, fmt.Errorf("study: Merge: %w", err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, fmt.Errorf("study: Merge: %w", err)
	}
	return os.SameFile(sa, sb), nil
}

// copyDir replaces dst by a copy of the regular files under src (written to a temporary
// folder first, so an interrupted copy never leaves a half folder under dst's name).
func copyDir(src, dst string) error {
	tmp := dst + ".merging"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("study: %w", err)
	}
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err == nil {
		if err = os.RemoveAll(dst); err == nil {
			err = os.Rename(tmp, dst)
		}
	}
	if err != nil {
		return fmt.Errorf("study: copying %s: %w", src, err)
	}
	return nil
}
