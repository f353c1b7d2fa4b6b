package seg

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/medssl/medssl/internal/testdata"
)

// hippocampusDir is the committed fixture folder (images/ and labels/, 8 cases).
func hippocampusDir(t testing.TB) string {
	t.Helper()
	return testdata.Path(t, "hippocampus")
}

// loadHippocampus reads the fixture folder.
func loadHippocampus(t testing.TB, opts ...Option) *Set {
	t.Helper()
	s, err := LoadNIfTI(hippocampusDir(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// writeNIfTI writes a minimal single-file NIfTI-1 volume of float32 voxels (i fastest)
// with the given affine as its sform (sform_code 1), for tests of bad inputs.
func writeNIfTI(t testing.TB, path string, dims [3]int, affine [4][4]float64, vox []float32) {
	t.Helper()
	const voxOffset = 352
	b := make([]byte, voxOffset+4*len(vox))
	le := binary.LittleEndian
	le.PutUint32(b[0:], 348)
	le.PutUint16(b[40:], 3)
	for i, d := range dims {
		le.PutUint16(b[42+2*i:], uint16(d))
	}
	for i := 3; i < 7; i++ {
		le.PutUint16(b[42+2*i:], 1)
	}
	le.PutUint16(b[70:], 16) // float32
	le.PutUint16(b[72:], 32)
	le.PutUint32(b[76:], math.Float32bits(1))
	for i := range 3 {
		col := math.Sqrt(affine[0][i]*affine[0][i] + affine[1][i]*affine[1][i] + affine[2][i]*affine[2][i])
		le.PutUint32(b[80+4*i:], math.Float32bits(float32(col)))
	}
	le.PutUint32(b[108:], math.Float32bits(voxOffset))
	le.PutUint16(b[254:], 1) // sform_code
	for r := range 3 {
		for c := range 4 {
			le.PutUint32(b[280+16*r+4*c:], math.Float32bits(float32(affine[r][c])))
		}
	}
	copy(b[344:], "n+1\x00")
	for i, v := range vox {
		le.PutUint32(b[voxOffset+4*i:], math.Float32bits(v))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

var identity = [4][4]float64{{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}
