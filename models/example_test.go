package models_test

import (
	"fmt"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/models"
)

// A ResNet-18 encoder with a 512-512-128 projection head on two 28×28 grayscale images.
func Example() {
	store := model.NewStore()
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) (*graph.Node, *graph.Node) {
		encoder := models.ResNetFor(18, 28) // small-image stem for 28 px
		h := encoder.Encode(scope.In(models.EncoderScope), x)
		z := models.MLP(scope.In("projection"), h, 512, 128).Done()
		return h, z
	})
	if err != nil {
		panic(err)
	}
	images := tensors.FromFlatDataAndDimensions(make([]float32, 2*28*28), 2, 28, 28, 1)
	out, err := exec.Exec(images)
	if err != nil {
		panic(err)
	}
	fmt.Println("features:", out[0].Shape().Dimensions, "projections:", out[1].Shape().Dimensions)
	// Output: features: [2 512] projections: [2 128]
}
