package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PCA2 projects feats (N rows of D features) on their first two principal
// components. The projection of row i is (x_i - mean) · v_k for the unit
// eigenvectors v_1, v_2 of the covariance with the largest eigenvalues λ_1 ≥ λ_2,
// and explained[k] = λ_k / Σ_j λ_j is the fraction of the total variance each
// keeps. Each v_k's sign is fixed so that its largest-magnitude entry is positive,
// so the result is deterministic. With D = 1 the second coordinate and fraction
// are 0. It needs at least two rows of equal length with non-zero total variance.
func PCA2(feats [][]float64) (coords [][2]float64, explained [2]float64, err error) {
	n := len(feats)
	if n < 2 {
		return nil, explained, fmt.Errorf("%w: PCA2 needs at least 2 rows, got %d", ErrEmpty, n)
	}
	d := len(feats[0])
	if d == 0 {
		return nil, explained, fmt.Errorf("%w: PCA2 rows have no features", ErrEmpty)
	}
	x := mat.NewDense(n, d, nil)
	for i, row := range feats {
		if len(row) != d {
			return nil, explained, fmt.Errorf("%w: PCA2 row %d has %d features, row 0 has %d", ErrShape, i, len(row), d)
		}
		if err := checkFinite(fmt.Sprintf("PCA2 row %d", i), row); err != nil {
			return nil, explained, err
		}
		x.SetRow(i, row)
	}
	var pc stat.PC
	if !pc.PrincipalComponents(x, nil) {
		return nil, explained, fmt.Errorf("plot: PCA2: the SVD did not converge")
	}
	vars := pc.VarsTo(nil)
	var total float64
	for _, v := range vars {
		total += v
	}
	if !(total > 0) {
		return nil, explained, fmt.Errorf("%w: PCA2: all rows are equal (zero variance)", ErrValue)
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	k := min(2, d)
	// Centre, then project on the first k components.
	means := make([]float64, d)
	for j := range d {
		means[j] = stat.Mean(mat.Col(nil, j, x), nil)
	}
	coords = make([][2]float64, n)
	for c := range k {
		v := mat.Col(nil, c, &vecs)
		big := 0
		for j := range v {
			if math.Abs(v[j]) > math.Abs(v[big]) {
				big = j
			}
		}
		if v[big] < 0 {
			for j := range v {
				v[j] = -v[j]
			}
		}
		for i, row := range feats {
			var s float64
			for j := range d {
				s += (row[j] - means[j]) * v[j]
			}
			coords[i][c] = s
		}
		explained[c] = vars[c] / total
	}
	return coords, explained, nil
}

// Embedding2D draws feats projected by PCA2, one colour and marker per class.
// labels[i] in [0, len(classNames)) is row i's class; classNames may be nil
// ("class 0", "class 1", ... are used). Axis labels give each component's share
// of the variance.
func Embedding2D(path, title string, feats [][]float64, labels []int, classNames []string) (err error) {
	defer recoverTo(&err)
	if len(feats) != len(labels) {
		return fmt.Errorf("%w: Embedding2D got %d feature rows but %d labels", ErrShape, len(feats), len(labels))
	}
	coords, explained, err := PCA2(feats)
	if err != nil {
		return err
	}
	classes := len(classNames)
	if classNames == nil {
		for _, l := range labels {
			classes = max(classes, l+1)
		}
	}
	byClass := make([]plotter.XYs, classes)
	for i, l := range labels {
		if l < 0 || l >= classes {
			return fmt.Errorf("%w: Embedding2D labels[%d] = %d, want [0, %d)", ErrValue, i, l, classes)
		}
		byClass[l] = append(byClass[l], plotter.XY{X: coords[i][0], Y: coords[i][1]})
	}
	p := newPlot(title,
		fmt.Sprintf("PC1 (%.1f%% of variance)", 100*explained[0]),
		fmt.Sprintf("PC2 (%.1f%% of variance)", 100*explained[1]))
	// Small translucent markers so dense classes do not hide each other.
	radius := vg.Points(2.5)
	if len(feats) > 1000 {
		radius = vg.Points(1.5)
	}
	for c, pts := range byClass {
		name := fmt.Sprintf("class %d", c)
		if classNames != nil {
			name = classNames[c]
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("plot: Embedding2D class %q: %w", name, err)
		}
		s.Color = colorAt(c, 0xB0)
		s.Shape = glyphAt(c)
		s.Radius = radius
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", name, len(pts)), s)
	}
	return save(path, Width, Height, p)
}
