package study

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/medssl/medssl/internal/testutil"
)

// Environment of TestShardProcess, the child process of TestShardsAsProcesses.
const (
	envShard     = "MEDSSL_TEST_SHARD"      // "i/n"
	envShardOut  = "MEDSSL_TEST_SHARD_OUT"  // the shared output folder
	envShardHang = "MEDSSL_TEST_SHARD_HANG" // a file: after one cell, create it and hang until killed
)

// shardConfig is the grid the shard tests split: 12 cells, 2 pretrainings.
func shardConfig(t *testing.T, out string, calls *[]Cell) Config {
	cfg := tinyConfig(testutil.BreastMNIST(t), out, calls)
	cfg.Fractions = []float64{1}
	return cfg
}

// TestShardProcess is one shard of TestShardsAsProcesses, run in a child process.
func TestShardProcess(t *testing.T) {
	spec := os.Getenv(envShard)
	if spec == "" {
		t.Skip("child process of TestShardsAsProcesses")
	}
	shard, err := ParseShard(spec)
	if err != nil {
		t.Fatal(err)
	}
	var calls []Cell
	cfg := shardConfig(t, os.Getenv(envShardOut), &calls)
	cfg.Shard = shard
	if hang := os.Getenv(envShardHang); hang != "" {
		cfg.OnCell = func(Cell) {
			calls = append(calls, Cell{})
			if len(calls) == 2 { // the first cell is saved; the second is about to start
				if err := os.WriteFile(hang, nil, 0o644); err != nil {
					t.Error(err)
				}
				select {} // killed here
			}
		}
	}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// A study split into 3 shards run as 3 processes over one folder, one of them killed
// midway and restarted, computes every cell once and gives results identical to a
// single-process run; its report, written by a run without Shard that computes nothing,
// equals the single-process report but for wall times.
func TestShardsAsProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 processes")
	}
	var calls []Cell
	single, err := Run(context.Background(), shardConfig(t, t.TempDir(), &calls))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	start := func(shard string, hang string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestShardProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envShard+"="+shard, envShardOut+"="+out, envShardHang+"="+hang)
		var logs strings.Builder
		cmd.Stdout, cmd.Stderr = &logs, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("shard %s output:\n%s", shard, logs.String())
			}
		})
		return cmd
	}
	hang := filepath.Join(t.TempDir(), "hanging")
	victim := start("1/3", hang)
	others := []*exec.Cmd{start("2/3", ""), start("3/3", "")}
	for deadline := time.Now().Add(10 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(hang); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("shard 1/3 never reached its second cell")
		}
	}
	if err := victim.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	victim.Wait()
	saved, err := ReadResults(filepath.Join(out, "results-shard-1-of-3.jsonl"))
	if err != nil || len(saved) != 1 {
		t.Fatalf("killed shard left %d results (%v), want 1", len(saved), err)
	}
	restarted := start("1/3", "")
	for _, cmd := range append(others, restarted) {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shard process: %v", err)
		}
	}

	// Each cell is in exactly one file, once.
	files, _ := resultFiles(out)
	seen := map[string]string{}
	for _, f := range files {
		rs, err := ReadResults(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if prev, ok := seen[r.Key()]; ok {
				t.Errorf("cell %s computed twice (%s and %s)", r.Key(), prev, filepath.Base(f))
			}
			seen[r.Key()] = filepath.Base(f)
		}
	}
	if len(seen) != len(single.Results) {
		t.Errorf("%d cells computed by the shards, want %d", len(seen), len(single.Results))
	}
	calls = nil
	merged, err := Run(context.Background(), shardConfig(t, out, &calls))
	if err != nil || merged.Computed != 0 || len(calls) != 0 {
		t.Fatalf("run without Shard after the shards: computed %d (%v), want 0", merged.Computed, err)
	}
	compareStudies(t, merged, single)
}

// compareStudies fails unless two runs of one study have the same results and the same
// report but for wall times.
func compareStudies(t *testing.T, got, want *Study) {
	t.Helper()
	if len(got.Results) != len(want.Results) {
		t.Fatalf("%d results, want %d", len(got.Results), len(want.Results))
	}
	for i := range want.Results {
		if !sameResult(got.Results[i], want.Results[i]) {
			t.Errorf("cell %s differs from the single-process run:\n%+v\nwant:\n%+v", want.Results[i].Key(), got.Results[i], want.Results[i])
		}
	}
	report := func(s *Study) string {
		var b strings.Builder
		if err := s.Markdown(&b, MarkdownOptions{PerCell: true, Machine: "M"}); err != nil {
			t.Fatal(err)
		}
		// The per-cell table ends with the cell's wall time in seconds.
		return regexp.MustCompile(`\| \d+ \|\n`).ReplaceAllString(b.String(), "| (s) |\n")
	}
	if g, w := report(got), report(want); g != w {
		t.Errorf("report differs from the single-process one:\n%s\nwant:\n%s", g, w)
	}
}

// Shards run one after the other in separate folders and merged (Merge) give the
// single-process study; merging twice adds nothing.
func TestShardsMerge(t *testing.T) {
	var calls []Cell
	single, err := Run(context.Background(), shardConfig(t, t.TempDir(), &calls))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	calls = nil
	for i := 1; i <= 3; i++ {
		cfg := shardConfig(t, t.TempDir(), &calls)
		cfg.Shard = Shard{i, 3}
		st, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if st.Done() {
			t.Errorf("shard %d/3 alone finished the whole grid", i)
		}
		dirs = append(dirs, cfg.OutDir)
	}
	if len(calls) != len(single.Results) {
		t.Errorf("the shards computed %d cells, want %d", len(calls), len(single.Results))
	}
	dst := t.TempDir()
	m, err := Merge(dst, dirs...)
	if err != nil || m.Results != len(single.Results) || m.Pretrainings != 2 {
		t.Fatalf("Merge: %+v, %v; want %d results, 2 pretrainings", m, err, len(single.Results))
	}
	if m, err := Merge(dst, dirs...); err != nil || m.Results != 0 || m.Duplicates != len(single.Results) || m.Pretrainings != 0 {
		t.Errorf("second Merge: %+v, %v; want nothing new", m, err)
	}
	if _, err := Merge(dst, dst); err == nil {
		t.Error("Merge of a folder into itself: no error")
	}
	merged, err := Read(shardConfig(t, dst, &calls))
	if err != nil || !merged.Done() {
		t.Fatalf("Read after Merge: done %v, %v", merged.Done(), err)
	}
	compareStudies(t, merged, single)
}

// Every cell is in one shard; cells sharing a pretraining are in the same one.
func TestShardAssignment(t *testing.T) {
	var calls []Cell
	cfg := tinyConfig(testutil.BreastMNIST(t), t.TempDir(), &calls)
	cfg.Seeds = []int64{1, 2, 3}
	set, err := cfg.fingerprints()
	if err != nil {
		t.Fatal(err)
	}
	cells := cfg.cells()
	for _, n := range []int{1, 2, 3, 5} {
		shardOf := cfg.shardOf(set, cells, n)
		byPretraining := map[string]int{}
		sizes := make([]int, n)
		for i, c := range cells {
			sizes[shardOf[i]]++
			if !c.NeedsPretraining() {
				continue
			}
			k := cfg.pretrainKey(set, c)
			if s, ok := byPretraining[k]; ok && s != shardOf[i] {
				t.Errorf("n=%d: pretraining %s used by shards %d and %d", n, k, s, shardOf[i])
			}
			byPretraining[k] = shardOf[i]
		}
		if slices.Contains(sizes, 0) && n <= 3 {
			t.Errorf("n=%d: shard sizes %v", n, sizes)
		}
	}
	for _, bad := range []string{"0/3", "4/3", "3", "a/b", "1/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q): no error", bad)
		}
	}
	if s, err := ParseShard("2/3"); err != nil || s != (Shard{2, 3}) || s.String() != "2/3" {
		t.Errorf("ParseShard(2/3) = %v, %v", s, err)
	}
}

// A results file held by a running process cannot be opened by another run.
func TestResultsFileLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), ResultsFile)
	first, _, err := openResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := openResults(path); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("second open: %v, want an error saying another process writes it", err)
	}
	first.close()
	second, _, err := openResults(path)
	if err != nil {
		t.Errorf("open after close: %v", err)
	} else {
		second.close()
	}
}
