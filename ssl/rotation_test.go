package ssl

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// naiveRot90 rotates a 28×28 single-channel image counterclockwise by k·90°, one step at
// a time: out[i][j] = in[j][W−1−i] (numpy.rot90).
func naiveRot90(img []float32, k int) []float32 {
	const n = 28
	out := append([]float32(nil), img...)
	for range k {
		next := make([]float32, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				next[i*n+j] = out[j*n+n-1-i]
			}
		}
		out = next
	}
	return out
}

// rotationBatchOnce runs rotationBatch on the first b BreastMNIST images.
func rotationBatchOnce(t *testing.T, b int, all bool) (imgs []float32, rotated []float32, labels []int32) {
	t.Helper()
	imgs, x := pretextImages(t, b)
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(9); err != nil {
		t.Fatal(err)
	}
	outs, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		r, l := rotationBatch(scope, x, all)
		return []*graph.Node{r, l}
	}, x)
	if err != nil {
		t.Fatal(err)
	}
	return imgs, tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[int32](outs[1])
}

// With all rotations, the batch holds each image at 0°, 90°, 180° and 270° with labels
// 0…3; with one random rotation, each image is rotated by its own label and all four
// labels occur.
func TestRotationBatchMatchesNaive(t *testing.T) {
	const px = 28 * 28
	for _, all := range []bool{true, false} {
		const b = 24
		imgs, rotated, labels := rotationBatchOnce(t, b, all)
		rows := b
		if all {
			rows = 4 * b
		}
		if len(labels) != rows || len(rotated) != rows*px {
			t.Fatalf("all=%v: %d labels and %d values, want %d and %d", all, len(labels), len(rotated), rows, rows*px)
		}
		seen := map[int32]int{}
		for r := 0; r < rows; r++ {
			src := r % b
			k := labels[r]
			if all && int(k) != r/b {
				t.Fatalf("all rotations: row %d has label %d, want %d", r, k, r/b)
			}
			if k < 0 || k > 3 {
				t.Fatalf("label %d out of range", k)
			}
			seen[k]++
			want := naiveRot90(imgs[src*px:(src+1)*px], int(k))
			got := rotated[r*px : (r+1)*px]
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("all=%v row %d (image %d, label %d): pixel %d is %v, want %v", all, r, src, k, i, got[i], want[i])
				}
			}
		}
		if len(seen) != 4 {
			t.Errorf("all=%v: labels seen %v, want all of 0…3", all, seen)
		}
	}
}

// The default method (linear classifier) and the one-rotation variant with an MLP
// classifier give a finite loss with ResNet-18 (width 8) and with the small encoder.
func TestRotationLossIsFinite(t *testing.T) {
	pretextLossOnce(t, NewRotation(), models.ResNetFor(18, 28).Width(8), 8)
	pretextLossOnce(t, &Rotation{Hidden: []int{16}}, testutil.SmallEncoder{Width: 16}, 8)
}

// RotNet's loss must fall on real BreastMNIST images within 60 steps (batch 16, i.e. 64
// rotated images per step), from about log 4 ≈ 1.386.
func TestRotationLossFallsOnBreastMNIST(t *testing.T) {
	pretextLossFalls(t, NewRotation(), 16, 60, 16, 5, 0.1)
}
