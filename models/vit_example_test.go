package models_test

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/models"
)

// A ViT-Tiny with 4×4 patches on 28×28 grayscale images, then on smaller 12×12 crops with
// the same weights (the learned position embeddings are resized from 7×7 to 3×3).
func ExampleViTTiny() {
	vit := models.ViTTiny(4)
	store := model.NewStore()
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, full, crop *graph.Node) (*graph.Node, *graph.Node) {
		s := scope.In(models.EncoderScope)
		return vit.Encode(s, full), vit.Encode(s, crop)
	})
	if err != nil {
		panic(err)
	}
	full := tensors.FromFlatDataAndDimensions(make([]float32, 2*28*28), 2, 28, 28, 1)
	crop := tensors.FromFlatDataAndDimensions(make([]float32, 2*12*12), 2, 12, 12, 1)
	out, err := exec.Exec(full, crop)
	if err != nil {
		panic(err)
	}
	fmt.Println(vit.Name(), out[0].Shape().Dimensions, out[1].Shape().Dimensions)
	// Output: vit-tiny/4 [2 192] [2 192]
}
