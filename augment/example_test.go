package augment_test

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
)

// Two augmented views of a batch, as a contrastive method builds them inside its graph.
// Chest X-ray: flips would swap the heart's side, so they are turned off.
func ExampleViews() {
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(42); err != nil { // same seed, same views
		panic(err)
	}
	pipe := augment.MedicalDefault()
	pipe.HorizontalFlipP = 0
	views, err := model.CallOnceN(medssl.MustBackend(), store, func(scope *model.Scope, g *graph.Graph) []*graph.Node {
		images := graph.MulScalar(graph.Ones(g, shapes.Make(dtypes.Float32, 8, 28, 28, 1)), 0.5) // stand-in batch
		return augment.Views(scope, images, 2, pipe)
	})
	if err != nil {
		panic(err)
	}
	for _, v := range views {
		fmt.Println(v.Shape())
	}
	// Output:
	// (Float32)[8, 28, 28, 1]
	// (Float32)[8, 28, 28, 1]
}
