package folder

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/medssl/medssl/data"
)

// readMultiLabelCSV reads a multi-label CSV (see MultiLabelCSV).
func readMultiLabelCSV(csvPath string, columns []string) ([]data.Item, []string, error) {
	name := filepath.Base(csvPath)
	fh, err := os.Open(csvPath)
	if err != nil {
		return nil, nil, fileErr(name, data.ErrRead, err, "cannot open labels CSV")
	}
	defer fh.Close()
	return parseMultiLabelCSV(fh, name, columns)
}

// parseMultiLabelCSV parses a multi-label CSV read from r; name appears in errors.
func parseMultiLabelCSV(r io.Reader, name string, columns []string) ([]data.Item, []string, error) {
	rows, err := csvRows(r, name)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 || len(rows[0]) == 0 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "empty labels CSV")
	}
	header := make([]string, len(rows[0]))
	for i, h := range rows[0] {
		header[i] = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
	}
	if isImage(header[0]) {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "multi-label CSV needs a header row naming its columns, first field is %q", header[0])
	}
	colFile, colPatient := -1, -1
	for i, h := range header {
		switch strings.ToLower(h) {
		case "file", "filename", "path", "image":
			if colFile < 0 {
				colFile = i
			}
		case "patient", "patient_id", "subject":
			if colPatient < 0 {
				colPatient = i
			}
		}
	}
	if colFile < 0 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "no file column (file, filename, path or image) in header %v", header)
	}
	body := rows[1:]
	for i, row := range body {
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		if len(row) != len(header) {
			return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: fmt.Sprintf("line %d", i+2),
				Msg: fmt.Sprintf("%d fields, the header has %d", len(row), len(header)), Kind: data.ErrFormat}
		}
	}
	var labelCols []int
	if len(columns) > 0 {
		for _, c := range columns {
			i := slices.Index(header, c)
			if i < 0 {
				return nil, nil, fileErr(name, data.ErrFormat, nil, "no label column %q in header %v", c, header)
			}
			if i == colFile || i == colPatient || slices.Contains(labelCols, i) {
				return nil, nil, fileErr(name, data.ErrArgument, nil, "label column %q is the file or patient column, or named twice", c)
			}
			labelCols = append(labelCols, i)
		}
	} else {
		for i := range header {
			if i == colFile || i == colPatient {
				continue
			}
			binary := true
			for _, row := range body {
				if len(row) == len(header) {
					if v := strings.TrimSpace(row[i]); v != "0" && v != "1" {
						binary = false
						break
					}
				}
			}
			if binary {
				labelCols = append(labelCols, i)
			}
		}
	}
	if len(labelCols) < 2 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "%d label columns of 0/1 values in header %v, want at least 2 (one 0/1 column is a binary task: use LabelsCSV)", len(labelCols), header)
	}
	classes := make([]string, len(labelCols))
	for k, i := range labelCols {
		classes[k] = header[i]
	}
	var items []data.Item
	for i, row := range body {
		line := fmt.Sprintf("line %d", i+2)
		if len(row) == 1 && strings.TrimSpace(row[0]) == "" {
			continue
		}
		file := path.Clean(filepath.ToSlash(strings.TrimSpace(row[colFile])))
		if file == "." {
			return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: line, Msg: "empty file name", Kind: data.ErrFormat}
		}
		it := data.Item{File: file, Labels: make([]int, len(labelCols))}
		if colPatient >= 0 {
			it.Patient = strings.TrimSpace(row[colPatient])
		}
		for k, c := range labelCols {
			switch v := strings.TrimSpace(row[c]); v {
			case "0":
			case "1":
				it.Labels[k] = 1
			default:
				return nil, nil, &data.FileError{Pkg: "folder", File: name, Key: line,
					Msg: fmt.Sprintf("%s: column %q is %q, want 0 or 1", file, header[c], v), Kind: data.ErrLabel}
			}
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, nil, fileErr(name, data.ErrFormat, nil, "no rows")
	}
	return items, classes, nil
}
