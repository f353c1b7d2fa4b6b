package dicom

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/medssl/medssl/data"
)

// slice is one 2D image placed in patient space.
type slice struct {
	pos    [3]float64 // ImagePositionPatient (LPS mm) of its first pixel
	values []float32  // rows*cols physical values, row by row
	name   string
}

// assemble sorts slices along the normal of ref's orientation and builds the volume.
func assemble(sl []slice, ref *decoded) (*data.Volume, error) {
	row := [3]float64{ref.iop[0], ref.iop[1], ref.iop[2]}
	col := [3]float64{ref.iop[3], ref.iop[4], ref.iop[5]}
	if math.Abs(norm(row)-1) > 1e-3 || math.Abs(norm(col)-1) > 1e-3 || math.Abs(dot(row, col)) > 1e-3 {
		return nil, fmt.Errorf("%s: ImageOrientationPatient %v is not two orthogonal unit vectors: %w", ref.name, ref.iop, data.ErrFormat)
	}
	normal := cross(row, col)
	sort.SliceStable(sl, func(a, b int) bool { return dot(sl[a].pos, normal) < dot(sl[b].pos, normal) })
	n := len(sl)
	var step [3]float64
	if n == 1 {
		gap := ref.gap
		if gap <= 0 {
			gap = 1
		}
		step = scale(normal, gap)
	} else {
		var gaps []float64
		for k := 1; k < n; k++ {
			d := dot(sub(sl[k].pos, sl[k-1].pos), normal)
			if d < 1e-4 {
				return nil, fmt.Errorf("%s and %s lie at the same position along the slice normal (%.4g mm): a time series or duplicate files? %w", sl[k-1].name, sl[k].name, dot(sl[k].pos, normal), ErrSeries)
			}
			gaps = append(gaps, d)
		}
		mean := dot(sub(sl[n-1].pos, sl[0].pos), normal) / float64(n-1)
		for k, d := range gaps {
			if math.Abs(d-mean) > 0.01*mean+1e-3 {
				return nil, fmt.Errorf("irregular slice spacing: %.4g mm between %s and %s, mean %.4g mm (missing slices?): %w", d, sl[k].name, sl[k+1].name, mean, ErrSeries)
			}
		}
		step = scale(sub(sl[n-1].pos, sl[0].pos), 1/float64(n-1))
	}
	v := &data.Volume{
		Dims:     [4]int{ref.cols, ref.rows, n, 1},
		Data:     make([]float32, 0, ref.cols*ref.rows*n),
		Window:   ref.window,
		Invert:   ref.invert,
		Modality: ref.modality,
		Meta:     map[string]string{},
	}
	for _, s := range sl {
		v.Data = append(v.Data, s.values...)
	}
	// LPS affine: i (column index) moves along the row direction by the column spacing
	// PixelSpacing[1], j (row index) along the column direction by PixelSpacing[0].
	cols := [4][3]float64{scale(row, ref.spacing[1]), scale(col, ref.spacing[0]), step, sl[0].pos}
	for c := range 4 {
		for r := range 3 {
			x := cols[c][r]
			if r < 2 {
				x = -x // LPS -> RAS
			}
			v.Affine[r][c] = x
		}
	}
	v.Affine[3][3] = 1
	v.Spacing = data.VolumeSpacing(v.Affine)
	if err := v.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", ref.name, err)
	}
	for k, val := range map[string]string{
		"PatientID": ref.patientID, "StudyInstanceUID": ref.studyUID, "SeriesInstanceUID": ref.seriesUID,
		"SeriesDescription": ref.seriesDesc, "Modality": ref.modality, "TransferSyntaxUID": ref.ts,
		"PhotometricInterpretation": ref.photometric, "Geometry": ref.geometry,
		"PixelSpacing":            dicomNums(ref.spacing[:]...),
		"ImageOrientationPatient": dicomNums(ref.iop[:]...),
		"ImagePositionPatient":    dicomNums(sl[0].pos[:]...),
	} {
		v.Meta[k] = val
	}
	if ref.thickness > 0 {
		v.Meta["SliceThickness"] = dicomNums(ref.thickness)
	}
	return v, nil
}

// dicomNums formats numbers as a DICOM multi-valued string (0.7\0.8).
func dicomNums(x ...float64) string {
	s := make([]string, len(x))
	for i, v := range x {
		s[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(s, `\`)
}

func dot(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm(a [3]float64) float64   { return math.Sqrt(dot(a, a)) }
func sub(a, b [3]float64) [3]float64 {
	return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]}
}
func scale(a [3]float64, s float64) [3]float64 { return [3]float64{a[0] * s, a[1] * s, a[2] * s} }
func cross(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
