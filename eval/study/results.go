package study

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"
)

// Result is one finished cell: its settings, test metrics, what model selection chose,
// the test scores (for ROC curves and bootstrap intervals) and timings. It is one line of
// results.jsonl.
type Result struct {
	Cell
	Label       string `json:"label"`
	Fingerprint string `json:"fingerprint"`
	// TrainN is the number of labelled training images; TrainClassCounts their classes.
	TrainN           int   `json:"train_n"`
	TrainClassCounts []int `json:"train_class_counts"`
	// Metrics on the test split (eval.Metrics.Map names: auc, acc, balanced_acc, macro_f1, …).
	Metrics map[string]float64 `json:"-"`
	// AUCLow and AUCHigh bound the 95% stratified bootstrap interval of the test AUC (NaN
	// when disabled or undefined).
	AUCLow, AUCHigh float64 `json:"-"`
	// ValAUC is the validation AUC of the selected model.
	ValAUC float64 `json:"-"`
	// Selected holds what model selection chose: best_epoch, epochs, lr, wd, k.
	Selected map[string]float64 `json:"selected,omitempty"`
	// TrainLoss per epoch and ValAUCs per validation of the selected run (empty for kNN).
	TrainLoss []float64 `json:"train_loss,omitempty"`
	ValAUCs   []float64 `json:"-"`
	// TestLabels (single-label) or TestTargets ([N][L] 0/1, multi-label) and TestScores
	// ([N][C] class probabilities, or [N][L] label probabilities) of the test split.
	TestLabels  []int       `json:"test_labels"`
	TestTargets [][]int     `json:"test_targets,omitempty"`
	TestScores  [][]float64 `json:"test_scores"`
	// External holds the scores on the external test sets (Config.ExternalTests), in order.
	External []TestResult `json:"external,omitempty"`
	// Seconds is the cell's wall time, pretraining excluded (see Pretraining).
	Seconds float64 `json:"seconds"`
	// Pretraining names the pretraining the cell used (its folder under OutDir/pretrain).
	Pretraining string    `json:"pretraining,omitempty"`
	Finished    time.Time `json:"finished"`
}

// InternalTest is the name of the dataset's own test split among a study's test sets.
const InternalTest = "test"

// TestResult is a cell's evaluation on one test set.
type TestResult struct {
	Name    string      `json:"name"`
	Labels  []int       `json:"labels,omitempty"`  // single-label sets
	Targets [][]int     `json:"targets,omitempty"` // multi-label sets: [N][L] 0/1
	Scores  [][]float64 `json:"scores"`            // [N][C] class or [N][L] label probabilities
	// Metrics are named as Result.Metrics; AUCLow and AUCHigh bound the 95% stratified
	// bootstrap interval of the AUC (NaN when disabled or undefined).
	Metrics         map[string]float64 `json:"-"`
	AUCLow, AUCHigh float64            `json:"-"`
}

type testResultAlias TestResult

type jsonTestResult struct {
	testResultAlias
	Metrics map[string]num `json:"metrics"`
	AUCCI   [2]num         `json:"auc_ci95"`
}

// MarshalJSON implements json.Marshaler (NaN metrics become null).
func (t TestResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonTestResult{testResultAlias(t), toNumMap(t.Metrics), [2]num{num(t.AUCLow), num(t.AUCHigh)}})
}

// UnmarshalJSON implements json.Unmarshaler.
func (t *TestResult) UnmarshalJSON(b []byte) error {
	var j jsonTestResult
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = TestResult(j.testResultAlias)
	t.Metrics, t.AUCLow, t.AUCHigh = fromNumMap(j.Metrics), float64(j.AUCCI[0]), float64(j.AUCCI[1])
	return nil
}

// Test returns the cell's evaluation on the named test set (InternalTest or an external
// one's name).
func (r Result) Test(name string) (TestResult, bool) {
	if name == InternalTest {
		return TestResult{Name: name, Labels: r.TestLabels, Targets: r.TestTargets, Scores: r.TestScores, Metrics: r.Metrics, AUCLow: r.AUCLow, AUCHigh: r.AUCHigh}, true
	}
	for _, t := range r.External {
		if t.Name == name {
			return t, true
		}
	}
	return TestResult{}, false
}

// num is a float64 that JSON encodes as null when it is NaN (JSON has no NaN).
type num float64

func (f num) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = num(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

func toNums(xs []float64) []num {
	out := make([]num, len(xs))
	for i, x := range xs {
		out[i] = num(x)
	}
	return out
}

func toNumMap(m map[string]float64) map[string]num {
	out := map[string]num{}
	for k, v := range m {
		out[k] = num(v)
	}
	return out
}

func fromNumMap(m map[string]num) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

func fromNums(xs []num) []float64 {
	if xs == nil {
		return nil
	}
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = float64(x)
	}
	return out
}

type resultAlias Result

type jsonResult struct {
	resultAlias
	Metrics map[string]num `json:"metrics"`
	AUCCI   [2]num         `json:"auc_ci95"`
	ValAUC  num            `json:"val_auc"`
	ValAUCs []num          `json:"val_aucs,omitempty"`
}

// MarshalJSON implements json.Marshaler (NaN metrics become null).
func (r Result) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonResult{resultAlias: resultAlias(r), Metrics: toNumMap(r.Metrics), AUCCI: [2]num{num(r.AUCLow), num(r.AUCHigh)},
		ValAUC: num(r.ValAUC), ValAUCs: toNums(r.ValAUCs)})
}

// UnmarshalJSON implements json.Unmarshaler.
func (r *Result) UnmarshalJSON(b []byte) error {
	var j jsonResult
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Result(j.resultAlias)
	r.Metrics = fromNumMap(j.Metrics)
	r.AUCLow, r.AUCHigh, r.ValAUC = float64(j.AUCCI[0]), float64(j.AUCCI[1]), float64(j.ValAUC)
	r.ValAUCs = fromNums(j.ValAUCs)
	return nil
}

// ResultsFile is the name of the results file in a study's output folder.
const ResultsFile = "results.jsonl"

// ReadResults reads a results.jsonl file. A last line cut short (a crash while writing)
// is ignored; any other unreadable line is an error naming the line.
func ReadResults(path string) ([]Result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("study: %w", err)
	}
	results, _, err := parseResults(b, path)
	return results, err
}

// parseResults returns the results and the length of the well-formed prefix of b.
func parseResults(b []byte, path string) ([]Result, int, error) {
	var out []Result
	good := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		end := good + len(text) + 1
		complete := end <= len(b) && b[end-1] == '\n'
		if len(bytes.TrimSpace(text)) == 0 {
			if complete {
				good = end
			}
			continue
		}
		var r Result
		if err := json.Unmarshal(text, &r); err != nil {
			if !complete {
				break // truncated last line
			}
			return nil, 0, fmt.Errorf("study: %s line %d: %w", path, line, err)
		}
		if !complete {
			break // a last line without its newline may be cut short: treat it as unfinished
		}
		out = append(out, r)
		good = end
	}
	if err := sc.Err(); err != nil {
		return nil, 0, fmt.Errorf("study: %s: %w", path, err)
	}
	return out, good, nil
}

// resultLog appends results to results.jsonl, one synced line each.
type resultLog struct {
	f *os.File
}

// openResults opens (or creates) path for appending, locked against other processes, and
// returns the results already in it. An unfinished last line is cut off first, so the next
// line starts clean.
func openResults(path string) (*resultLog, []Result, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("study: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, nil, err
	}
	b, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("study: reading %s: %w", path, err)
	}
	results, good, err := parseResults(b, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if good < len(b) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("study: cutting the unfinished last line of %s: %w", path, err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("study: %w", err)
	}
	return &resultLog{f: f}, results, nil
}

func (l *resultLog) append(r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("study: encoding result of %s: %w", r.Key(), err)
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("study: writing %s: %w", l.f.Name(), err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("study: syncing %s: %w", l.f.Name(), err)
	}
	return nil
}

func (l *resultLog) close() error { return l.f.Close() }
