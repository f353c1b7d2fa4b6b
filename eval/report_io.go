package eval

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteTable prints the summary as an aligned text table, one line per
// (label fraction, arm), with n and "mean ± std" of each of SummaryMetrics to 3
// decimals. The label fraction is printed in shortest form (0.01, 0.1, 1).
// Undefined values print as NaN.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"fraction", "arm", "n"}
	header = append(header, SummaryMetrics()...)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, s := range r.Summary() {
		cells := []string{formatFloat(s.Fraction), s.Arm, strconv.Itoa(s.N)}
		for _, name := range SummaryMetrics() {
			cells = append(cells, fmt.Sprintf("%.3f ± %.3f", s.Mean[name], s.Std[name]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// WriteCSV writes one line per row (sorted as Rows), after the header
//
//	arm,label_fraction,seed,<metric names>,wall_seconds,epochs,best_epoch
//
// Metric columns are the union over rows (auc, acc, balanced_acc, macro_f1 first).
// Numbers are written in full precision (shortest form that parses back to the
// same float64); NaN is "NaN"; a metric a row lacks and an unrecorded (zero)
// wall time, epochs or best epoch are empty cells.
func (r *Report) WriteCSV(w io.Writer) error {
	names := r.metricNames()
	cw := csv.NewWriter(w)
	header := append([]string{"arm", "label_fraction", "seed"}, names...)
	header = append(header, "wall_seconds", "epochs", "best_epoch")
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("eval: write csv: %w", err)
	}
	for _, row := range r.Rows() {
		rec := []string{row.Arm, formatFloat(row.Fraction), strconv.FormatInt(row.Seed, 10)}
		for _, name := range names {
			v, ok := row.Metrics[name]
			if !ok {
				rec = append(rec, "")
				continue
			}
			rec = append(rec, formatFloat(v))
		}
		rec = append(rec, optional(row.WallTime.Seconds()), optional(float64(row.Epochs)), optional(float64(row.BestEpoch)))
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("eval: write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("eval: write csv: %w", err)
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func optional(v float64) string {
	if v == 0 {
		return ""
	}
	return formatFloat(v)
}

// jsonFloat is a float64 that encodes NaN as JSON null (encoding/json rejects
// NaN) and decodes null back to NaN.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

type jsonRow struct {
	Arm         string               `json:"arm"`
	Fraction    float64              `json:"label_fraction"`
	Seed        int64                `json:"seed"`
	Metrics     map[string]jsonFloat `json:"metrics"`
	WallSeconds float64              `json:"wall_seconds,omitempty"`
	Epochs      int                  `json:"epochs,omitempty"`
	BestEpoch   int                  `json:"best_epoch,omitempty"`
}

type jsonSummary struct {
	Arm      string               `json:"arm"`
	Fraction float64              `json:"label_fraction"`
	N        int                  `json:"n"`
	Mean     map[string]jsonFloat `json:"mean"`
	Std      map[string]jsonFloat `json:"std"`
}

type jsonReport struct {
	Rows    []jsonRow     `json:"rows"`
	Summary []jsonSummary `json:"summary"`
}

func toJSONMap(m map[string]float64) map[string]jsonFloat {
	out := make(map[string]jsonFloat, len(m))
	for k, v := range m {
		out[k] = jsonFloat(v)
	}
	return out
}

// WriteJSON writes {"rows": [...], "summary": [...]}, both sorted as Rows and
// Summary. Each row has arm, label_fraction, seed, metrics (an object keyed by
// metric name) and, when recorded, wall_seconds, epochs and best_epoch. Each
// summary has arm, label_fraction, n, mean and std. NaN is written as null.
func (r *Report) WriteJSON(w io.Writer) error {
	var doc jsonReport
	doc.Rows = []jsonRow{}
	doc.Summary = []jsonSummary{}
	for _, row := range r.Rows() {
		doc.Rows = append(doc.Rows, jsonRow{Arm: row.Arm, Fraction: row.Fraction, Seed: row.Seed,
			Metrics: toJSONMap(row.Metrics), WallSeconds: row.WallTime.Seconds(),
			Epochs: row.Epochs, BestEpoch: row.BestEpoch})
	}
	for _, s := range r.Summary() {
		doc.Summary = append(doc.Summary, jsonSummary{Arm: s.Arm, Fraction: s.Fraction, N: s.N,
			Mean: toJSONMap(s.Mean), Std: toJSONMap(s.Std)})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("eval: write json: %w", err)
	}
	return nil
}

// ReadJSON reads a report written by WriteJSON. Null metrics become NaN; the
// stored summary is ignored (Summary recomputes it from the rows).
func ReadJSON(rd io.Reader) (*Report, error) {
	var doc jsonReport
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("eval: read json: %w", err)
	}
	r := &Report{}
	for _, jr := range doc.Rows {
		row := Row{Arm: jr.Arm, Fraction: jr.Fraction, Seed: jr.Seed,
			Metrics:  make(map[string]float64, len(jr.Metrics)),
			WallTime: time.Duration(math.Round(jr.WallSeconds * float64(time.Second))),
			Epochs:   jr.Epochs, BestEpoch: jr.BestEpoch}
		for k, v := range jr.Metrics {
			row.Metrics[k] = float64(v)
		}
		if err := r.Add(row); err != nil {
			return nil, fmt.Errorf("eval: read json: %w", err)
		}
	}
	return r, nil
}

// ReadJSONFile reads a report written by WriteFiles or WriteJSON from a file.
func ReadJSONFile(path string) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	defer f.Close()
	r, err := ReadJSON(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return r, nil
}

// WriteFiles writes the report to dir (created if missing) as basename.csv,
// basename.json and basename.txt (the table), and returns the first error,
// naming the file.
func (r *Report) WriteFiles(dir, basename string) error {
	if basename == "" || strings.ContainsRune(basename, filepath.Separator) {
		return fmt.Errorf("eval: write report: bad basename %q", basename)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("eval: write report: %w", err)
	}
	for _, out := range []struct {
		ext   string
		write func(io.Writer) error
	}{{".csv", r.WriteCSV}, {".json", r.WriteJSON}, {".txt", r.WriteTable}} {
		path := filepath.Join(dir, basename+out.ext)
		if err := writeFile(path, out.write); err != nil {
			return fmt.Errorf("eval: write report %s: %w", path, err)
		}
	}
	return nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	return errors.Join(err, f.Close())
}
