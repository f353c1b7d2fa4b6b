package folder

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/testdata"
	"github.com/medssl/medssl/internal/testutil/foldertest"
)

// chestFixture returns the committed ChestX-ray14 subset's images folder and labels CSV,
// and the CSV's rows as read by encoding/csv (the reference the loader is checked
// against).
func chestFixture(t *testing.T) (dir, csvPath string, rows [][]string) {
	t.Helper()
	csvPath = testdata.Path(t, "chestxray14/labels.csv")
	fh, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if rows, err = csv.NewReader(fh).ReadAll(); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(filepath.Dir(csvPath), "images"), csvPath, rows
}

// The real ChestX-ray14 CSV loads as a multi-label folder: the 14 finding columns inferred
// (age, sex and view left out by their values), label names from the header, patients
// from the patient column, and every image's labels and pixels as in the files.
func TestMultiLabelCSVChestXray(t *testing.T) {
	dir, csvPath, rows := chestFixture(t)
	f, err := Load(dir, MultiLabelCSV(csvPath))
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	if !f.MultiLabel || f.Task() != data.MultiLabel || !slices.Equal(f.Classes, header[5:]) || f.LabelDim() != 14 || f.NumClasses() != 14 {
		t.Fatalf("multi-label %v task %v classes %v", f.MultiLabel, f.Task(), f.Classes)
	}
	s := f.Images
	if s.N != 185 || s.LabelDim != 14 || s.Task != data.MultiLabel || s.NumClasses != 14 || s.Height != 64 || s.Channels != 1 {
		t.Fatalf("split: %d images %dx%dx%d, %d labels, task %v", s.N, s.Height, s.Width, s.Channels, s.LabelDim, s.Task)
	}
	if err := s.CheckLabels(); err != nil {
		t.Fatal(err)
	}
	byFile := map[string][]string{}
	for _, r := range rows[1:] {
		byFile[r[0]] = r
	}
	for k, it := range f.Items {
		r := byFile[it.File]
		if r == nil || it.Patient != r[1] {
			t.Fatalf("%s: patient %q, CSV row %v", it.File, it.Patient, r)
		}
		for l, v := range s.LabelRow(k) {
			if fmt.Sprint(v) != r[5+l] || it.Labels[l] != int(v) {
				t.Fatalf("%s: label %s is %d, CSV says %s", it.File, header[5+l], v, r[5+l])
			}
		}
		if k%40 == 0 { // pixels, for a few images, against the standard library's decoder
			fh, err := os.Open(filepath.Join(dir, it.File))
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(fh)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			g, ok := img.(*image.Gray)
			if !ok || !slices.Equal(g.Pix, s.Image(k)) {
				t.Fatalf("%s: pixels differ from image/png's decoding", it.File)
			}
		}
	}

	// Named columns, in the given order.
	two, err := Scan(dir, MultiLabelCSV(csvPath, "Hernia", "Effusion"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(two.Classes, []string{"Hernia", "Effusion"}) || len(two.Items[0].Labels) != 2 {
		t.Fatalf("named columns: classes %v", two.Classes)
	}
	for _, it := range two.Items {
		r := byFile[it.File]
		if fmt.Sprint(it.Labels) != fmt.Sprintf("[%s %s]", r[18], r[7]) {
			t.Fatalf("%s: labels %v, CSV Hernia %s Effusion %s", it.File, it.Labels, r[18], r[7])
		}
	}

	// A patient-level split and the Dataset it cuts keep the labels.
	m, err := f.SplitByPatient(data.SplitFractions{Train: 0.7, Val: 0.15, Test: 0.15}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Classes, f.Classes) || !m.MultiLabel() {
		t.Fatalf("manifest classes %v, multi-label %v", m.Classes, m.MultiLabel())
	}
	ds, err := f.Dataset(m)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Task != data.MultiLabel || ds.NumClasses != 14 || ds.Train.N+ds.Val.N+ds.Test.N != 185 {
		t.Fatalf("dataset task %v, %d classes, %d+%d+%d images", ds.Task, ds.NumClasses, ds.Train.N, ds.Val.N, ds.Test.N)
	}
	for _, sp := range ds.Splits() {
		if err := sp.CheckLabels(); err != nil || sp.LabelDim != 14 {
			t.Fatalf("split %s: %v", sp.Name, err)
		}
	}
	// A manifest whose labels disagree with the folder's is refused.
	m.Entries[10].Labels = slices.Clone(m.Entries[10].Labels)
	m.Entries[10].Labels[0] = 1 - m.Entries[10].Labels[0]
	if _, err := f.Dataset(m); err == nil || !strings.Contains(err.Error(), m.Entries[10].File) {
		t.Errorf("manifest with changed labels: %v", err)
	}
}

// Bad multi-label CSVs are errors naming the CSV, the line and the column.
func TestMultiLabelCSVErrors(t *testing.T) {
	s := foldertest.Split(t, 3)
	dir := t.TempDir()
	for i := range 3 {
		foldertest.Write(t, dir, fmt.Sprintf("img%d.png", i), foldertest.Encode(t, foldertest.Gray(s, i), "png"))
	}
	for name, tc := range map[string]struct {
		csv     string
		columns []string
		kind    error
		msg     string
	}{
		"value 2":           {"file,patient,a,b\nimg0.png,P1,0,1\nimg1.png,P1,2,0\n", []string{"a", "b"}, data.ErrLabel, `line 3: img1.png: column "a" is "2", want 0 or 1`},
		"missing column":    {"file,a,b\nimg0.png,0,1\n", []string{"a", "c"}, data.ErrFormat, `no label column "c"`},
		"one binary column": {"file,age,a\nimg0.png,57,1\nimg1.png,3,0\n", nil, data.ErrFormat, "1 label columns"},
		"no header":         {"img0.png,0,1\nimg1.png,1,0\n", nil, data.ErrFormat, "needs a header row"},
		"no file column":    {"name,a,b\nimg0.png,0,1\n", nil, data.ErrFormat, "no file column"},
		"short row":         {"file,a,b\nimg0.png,0,1\nimg1.png,1\n", nil, data.ErrFormat, "line 3: 2 fields, the header has 3"},
		"file as a label":   {"file,a,b\nimg0.png,0,1\n", []string{"file", "a"}, data.ErrArgument, `label column "file"`},
		"empty file":        {"file,a,b\n,0,1\n", nil, data.ErrFormat, "line 2: empty file name"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".csv")
		foldertest.Write(t, dir, filepath.Base(p), []byte(tc.csv))
		_, err := Scan(dir, MultiLabelCSV(p, tc.columns...))
		if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), filepath.Base(p)) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want %v naming %s and saying %q", name, err, tc.kind, filepath.Base(p), tc.msg)
		}
	}
	// Inferred columns skip non-binary ones; LabelsCSV after MultiLabelCSV wins.
	p := filepath.Join(dir, "ok.csv")
	foldertest.Write(t, dir, "ok.csv", []byte("file,subject,age,x,y,sex\nimg0.png,S1,57,0,1,M\nimg1.png,S2,1,1,1,F\nimg2.png,S2,0,0,0,M\n"))
	f, err := Load(dir, MultiLabelCSV(p))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Classes, []string{"x", "y"}) || f.Items[1].Patient != "S2" || fmt.Sprint(f.Images.Labels) != "[0 1 1 1 0 0]" {
		t.Errorf("classes %v, patient %q, labels %v", f.Classes, f.Items[1].Patient, f.Images.Labels)
	}
	if single, err := Scan(dir, MultiLabelCSV(p), LabelsCSV(p)); err != nil || single.MultiLabel || single.Items[0].Labels != nil {
		t.Errorf("LabelsCSV after MultiLabelCSV: %v, still multi-label", err)
	}
	if _, err := Scan(dir, MultiLabelCSV(p), Unlabelled()); !errors.Is(err, data.ErrArgument) {
		t.Errorf("MultiLabelCSV with Unlabelled: %v", err)
	}
}
