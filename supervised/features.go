package supervised

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// inferBatch is the batch size of inference passes; the last batch is padded to it so that
// one compiled graph serves the whole split.
const inferBatch = 256

// runBatched applies fn (an inference graph over images [B,H,W,C] → [B,K]) to every image
// of split in inference mode (batch norm uses its running averages) and returns N rows.
func runBatched(backend compute.Backend, store *model.Store, split *data.Split,
	fn func(scope *model.Scope, images *graph.Node) *graph.Node) ([][]float32, error) {
	exec, err := model.NewExec(backend, store, fn)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out := make([][]float32, 0, split.N)
	b := min(inferBatch, split.N)
	for start := 0; start < split.N; start += b {
		end := min(start+b, split.N)
		// Pad the last batch with copies of the first image so every call has b rows.
		idx := make([]int, b)
		for i := range idx {
			if start+i < end {
				idx[i] = start + i
			}
		}
		images := tensors.FromFlatDataAndDimensions(split.ImagesFloat32(idx), b, split.Height, split.Width, split.Channels)
		res, err := exec.Call(images)
		if err != nil {
			return nil, err
		}
		rows := res[0].Shape().Dimensions[0]
		k := res[0].Shape().Dimensions[1]
		flat, err := tensors.CopyFlatData[float32](res[0])
		if err != nil {
			return nil, err
		}
		for _, t := range res {
			t.FinalizeAll()
		}
		for i := 0; i < end-start && i < rows; i++ {
			out = append(out, flat[i*k:(i+1)*k])
		}
	}
	return out, nil
}

// Features returns the encoder's features [N][F] of every image of split, in inference
// mode, with the encoder weights found under models.EncoderScope in store.
func Features(backend compute.Backend, store *model.Store, enc models.Encoder, split *data.Split) (feats [][]float32, err error) {
	defer trainutil.Recover("supervised: features", &err)
	if split == nil || split.N == 0 {
		return nil, fmt.Errorf("supervised: features: empty split")
	}
	return runBatched(backend, store, split, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return enc.Encode(scope.In(models.EncoderScope), images)
	})
}
