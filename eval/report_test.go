package eval

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// smallReport: three arms x fractions with hand-computable statistics.
func smallReport(t *testing.T) *Report {
	t.Helper()
	var r Report
	add := func(arm string, frac float64, seed int64, auc, acc, bacc float64) {
		m := map[string]float64{MetricAUC: auc, MetricACC: acc, MetricBalancedACC: bacc}
		if math.IsNaN(bacc) {
			delete(m, MetricBalancedACC) // a run that lacks the metric
		}
		if err := r.Add(Row{Arm: arm, Fraction: frac, Seed: seed, Metrics: m}); err != nil {
			t.Fatal(err)
		}
	}
	// Added out of order on purpose.
	add("simclr+linear", 1, 1, 0.95, 0.9, math.NaN())
	add("supervised", 0.1, 3, 0.84, 0.80, 0.6)
	add("simclr+linear", 0.1, 2, 0.8, 0.9, 0.7)
	add("supervised", 0.1, 1, 0.80, 0.70, 0.6)
	add("supervised", 0.1, 2, 0.82, 0.75, 0.6)
	add("simclr+linear", 0.1, 1, 0.9, 0.8, 0.7)
	return &r
}

func TestSummaryAgainstHand(t *testing.T) {
	sums := smallReport(t).Summary()
	if len(sums) != 3 {
		t.Fatalf("%d groups, want 3", len(sums))
	}
	type want struct {
		arm       string
		frac      float64
		n         int
		mean, std [3]float64 // auc, acc, balanced_acc
	}
	// supervised@0.1: AUC 0.80,0.82,0.84 -> mean 0.82, std sqrt((0.02²+0+0.02²)/2) = 0.02;
	// ACC 0.70,0.75,0.80 -> 0.75, 0.05. simclr+linear@0.1: AUC 0.9,0.8 -> 0.85,
	// sqrt(2*0.05²/1) = 0.05*sqrt(2). n = 1: std NaN; a missing metric: NaN.
	nan := math.NaN()
	wants := []want{
		{"simclr+linear", 0.1, 2, [3]float64{0.85, 0.85, 0.7}, [3]float64{0.05 * math.Sqrt2, 0.05 * math.Sqrt2, 0}},
		{"supervised", 0.1, 3, [3]float64{0.82, 0.75, 0.6}, [3]float64{0.02, 0.05, 0}},
		{"simclr+linear", 1, 1, [3]float64{0.95, 0.9, nan}, [3]float64{nan, nan, nan}},
	}
	for i, w := range wants {
		s := sums[i]
		if s.Arm != w.arm || s.Fraction != w.frac || s.N != w.n {
			t.Errorf("group %d = %s@%v n=%d, want %s@%v n=%d", i, s.Arm, s.Fraction, s.N, w.arm, w.frac, w.n)
		}
		for j, name := range SummaryMetrics() {
			if !close(s.Mean[name], w.mean[j], 1e-12) || !close(s.Std[name], w.std[j], 1e-12) {
				t.Errorf("group %d %s: %v ± %v, want %v ± %v", i, name, s.Mean[name], s.Std[name], w.mean[j], w.std[j])
			}
		}
	}
}

// close compares with an absolute tolerance; NaN equals only NaN.
func close(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestWriteTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := smallReport(t).WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"fraction  arm            n  auc            acc            balanced_acc\n" +
		"0.1       simclr+linear  2  0.850 ± 0.071  0.850 ± 0.071  0.700 ± 0.000\n" +
		"0.1       supervised     3  0.820 ± 0.020  0.750 ± 0.050  0.600 ± 0.000\n" +
		"1         simclr+linear  1  0.950 ± NaN    0.900 ± NaN    NaN ± NaN\n"
	if got := buf.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// richReport has per-class metrics with 11 classes (to check column order), NaN
// values and the optional fields.
func richReport(t *testing.T) *Report {
	t.Helper()
	var r Report
	for seed := int64(1); seed <= 2; seed++ {
		m := map[string]float64{MetricAUC: 0.1 + 0.7/float64(seed), MetricACC: 1.0 / 3, MetricMacroF1: math.NaN()}
		for k := range 11 {
			m["sensitivity_"+strconv.Itoa(k)] = float64(k) / 11
		}
		row := Row{Arm: "simclr+finetune", Fraction: 0.01, Seed: seed << 40, Metrics: m,
			WallTime: 1234567891 * time.Millisecond / 1000 * time.Duration(seed), Epochs: 100, BestEpoch: 37}
		if err := r.Add(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Add(Row{Arm: "supervised", Fraction: 1, Seed: -5, Metrics: map[string]float64{MetricAUC: math.Pi / 4}}); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestCSVRoundTrip(t *testing.T) {
	r := richReport(t)
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := []string{"arm", "label_fraction", "seed", "auc", "acc", "macro_f1"}
	for k := range 11 {
		header = append(header, "sensitivity_"+strconv.Itoa(k))
	}
	header = append(header, "wall_seconds", "epochs", "best_epoch")
	if strings.Join(recs[0], ",") != strings.Join(header, ",") {
		t.Fatalf("header\n%v\nwant\n%v", recs[0], header)
	}
	rows := r.Rows()
	if len(recs) != 1+len(rows) {
		t.Fatalf("%d records, want %d", len(recs), 1+len(rows))
	}
	for i, row := range rows {
		rec := recs[i+1]
		seed, _ := strconv.ParseInt(rec[2], 10, 64)
		frac, _ := strconv.ParseFloat(rec[1], 64)
		if rec[0] != row.Arm || frac != row.Fraction || seed != row.Seed {
			t.Errorf("row %d: %v, want %s %v %d", i, rec[:3], row.Arm, row.Fraction, row.Seed)
		}
		for j, name := range header[3 : len(header)-3] {
			cell := rec[3+j]
			v, ok := row.Metrics[name]
			if !ok {
				if cell != "" {
					t.Errorf("row %d %s: %q, want empty (missing)", i, name, cell)
				}
				continue
			}
			got, err := strconv.ParseFloat(cell, 64)
			if err != nil || !(got == v || math.IsNaN(got) && math.IsNaN(v)) {
				t.Errorf("row %d %s: %q parses to %v, want exactly %v", i, name, cell, got, v)
			}
		}
		tail := rec[len(rec)-3:]
		if row.Epochs == 0 {
			if tail[0] != "" || tail[1] != "" || tail[2] != "" {
				t.Errorf("row %d: unrecorded fields %q, want empty", i, tail)
			}
			continue
		}
		secs, _ := strconv.ParseFloat(tail[0], 64)
		if secs != row.WallTime.Seconds() || tail[1] != "100" || tail[2] != "37" {
			t.Errorf("row %d: %q, want %v 100 37", i, tail, row.WallTime.Seconds())
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	r := richReport(t)
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON:\n%s", raw)
	}
	// NaN must be null, both in rows and in the summary (std of a single run).
	var generic struct {
		Rows    []map[string]any `json:"rows"`
		Summary []map[string]any `json:"summary"`
	}
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	m0 := generic.Rows[0]["metrics"].(map[string]any)
	if v, ok := m0[MetricMacroF1]; !ok || v != nil {
		t.Errorf("NaN macro_f1 encoded as %v (present %v), want null", v, ok)
	}
	last := generic.Summary[len(generic.Summary)-1]
	if last["n"] != 1.0 || last["std"].(map[string]any)[MetricAUC] != nil {
		t.Errorf("single-run summary %v: want n 1 and std auc null", last)
	}

	back, err := ReadJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	want, got := r.Rows(), back.Rows()
	if len(got) != len(want) {
		t.Fatalf("%d rows back, want %d", len(got), len(want))
	}
	for i := range want {
		w, g := want[i], got[i]
		if g.Arm != w.Arm || g.Fraction != w.Fraction || g.Seed != w.Seed || g.WallTime != w.WallTime ||
			g.Epochs != w.Epochs || g.BestEpoch != w.BestEpoch || len(g.Metrics) != len(w.Metrics) {
			t.Errorf("row %d back %+v, want %+v", i, g, w)
		}
		for name, v := range w.Metrics {
			if gv, ok := g.Metrics[name]; !ok || !(gv == v || math.IsNaN(gv) && math.IsNaN(v)) {
				t.Errorf("row %d %s: back %v, want exactly %v", i, name, gv, v)
			}
		}
	}
}

func TestWriteFiles(t *testing.T) {
	r := smallReport(t)
	dir := filepath.Join(t.TempDir(), "new")
	if err := r.WriteFiles(dir, "exp"); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	r.WriteTable(&table)
	txt, err := os.ReadFile(filepath.Join(dir, "exp.txt"))
	if err != nil || string(txt) != table.String() {
		t.Errorf("exp.txt = %q, %v; want the table", txt, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "exp.csv")); err != nil {
		t.Error(err)
	}
	back, err := ReadJSONFile(filepath.Join(dir, "exp.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Rows()) != 6 {
		t.Errorf("%d rows back, want 6", len(back.Rows()))
	}
	if err := r.WriteFiles(dir, "a/b"); err == nil {
		t.Error("basename with a separator: no error")
	}
	if _, err := ReadJSONFile(filepath.Join(dir, "exp.csv")); err == nil || !strings.Contains(err.Error(), "exp.csv") {
		t.Errorf("reading CSV as JSON: error %v, want one naming the file", err)
	}
}

func TestAddRejects(t *testing.T) {
	ok := Row{Arm: "supervised", Fraction: 0.5, Seed: 1, Metrics: map[string]float64{MetricAUC: 0.9}}
	for name, mutate := range map[string]func(*Row){
		"empty arm":       func(r *Row) { r.Arm = "" },
		"zero fraction":   func(r *Row) { r.Fraction = 0 },
		"fraction > 1":    func(r *Row) { r.Fraction = 1.5 },
		"NaN fraction":    func(r *Row) { r.Fraction = math.NaN() },
		"Inf metric":      func(r *Row) { r.Metrics = map[string]float64{MetricAUC: math.Inf(1)} },
		"comma in name":   func(r *Row) { r.Metrics = map[string]float64{"a,b": 1} },
		"best after last": func(r *Row) { r.Epochs, r.BestEpoch = 10, 11 },
		"negative time":   func(r *Row) { r.WallTime = -time.Second },
	} {
		row := ok
		mutate(&row)
		var r Report
		if err := r.Add(row); err == nil {
			t.Errorf("%s: Add accepted %+v", name, row)
		}
	}
	var r Report
	if err := r.Add(ok); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(ok); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate run: error %v", err)
	}
	// Add copies the metrics map.
	ok.Metrics[MetricAUC] = 0
	if r.Rows()[0].Metrics[MetricAUC] != 0.9 {
		t.Error("Add kept a reference to the caller's map")
	}
}

func TestCompareNamesTotalOrder(t *testing.T) {
	names := []string{"a_10", "a_2", "a_1x", "a", "a_0", "b_1", "sensitivity_10", "sensitivity_9"}
	for _, x := range names {
		for _, y := range names {
			for _, z := range names {
				if compareNames(x, y) < 0 && compareNames(y, z) < 0 && compareNames(x, z) >= 0 {
					t.Errorf("not transitive: %s < %s < %s but not %s < %s", x, y, z, x, z)
				}
			}
			if x != y && compareNames(x, y) == 0 {
				t.Errorf("%s and %s compare equal", x, y)
			}
		}
	}
	if compareNames("sensitivity_9", "sensitivity_10") >= 0 {
		t.Error("sensitivity_9 should sort before sensitivity_10")
	}
}
