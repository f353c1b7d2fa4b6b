package models

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
)

func TestMLPShapesAndSharing(t *testing.T) {
	for _, withBN := range []bool{true, false} {
		store := model.NewStore()
		exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) *graph.Node {
			scope.SetTraining(x.Graph(), true)
			head := scope.In("projection")
			z1 := MLP(head, x, 512, 128).BatchNorm(withBN).Done()
			z2 := MLP(head, x, 512, 128).BatchNorm(withBN).Done() // same scope: same weights
			return graph.Sub(z1, z2)
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := exec.Exec(randomTensor(9, 4, 512))
		if err != nil {
			t.Fatal(err)
		}
		if got := res[0].Shape().Dimensions; len(got) != 2 || got[0] != 4 || got[1] != 128 {
			t.Fatalf("batchNorm=%v: output shape %v, want [4 128]", withBN, got)
		}
		for i, v := range tensorsFlat(res[0]) {
			if v != 0 {
				t.Fatalf("batchNorm=%v: two calls on one scope differ at %d by %v: weights not shared", withBN, i, v)
			}
		}
		// Weights: 512·512+512 and 512·128+128, plus BN scale/offset/mean/variance of 512 when on.
		want := 512*512 + 512 + 512*128 + 128
		if withBN {
			want += 4 * 512
		}
		got := 0
		for v := range store.IterVariables() {
			if !strings.Contains(v.Path(), "#") { // skip the store's RNG state
				got += v.Shape().Size()
			}
		}
		if got != want {
			t.Errorf("batchNorm=%v: %d parameters, want %d", withBN, got, want)
		}
	}
}
