package models

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
)

// InferBatch is the batch size of inference passes; the last batch is padded to it so that
// one compiled graph serves the whole split.
const InferBatch = 256

// Infer applies fn (an inference graph over images [B,H,W,C] → [B,K]) to every image of
// split in inference mode (batch norm uses its running averages) with the variables of
// store, and returns N rows. The graph is compiled anew for each call, so it reads the
// store's current values (the go backend embeds variables in inference graphs as
// constants).
func Infer(backend compute.Backend, store *model.Store, split *data.Split,
	fn func(scope *model.Scope, images *graph.Node) *graph.Node) ([][]float32, error) {
	exec, err := model.NewExec(backend, store, fn)
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out := make([][]float32, 0, split.N)
	b := min(InferBatch, split.N)
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
func Features(backend compute.Backend, store *model.Store, enc Encoder, split *data.Split) (feats [][]float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("models: features: %v", r)
		}
	}()
	if split == nil || split.N == 0 {
		return nil, fmt.Errorf("models: features: empty split")
	}
	return Infer(backend, store, split, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return enc.Encode(scope.In(EncoderScope), images)
	})
}
