package supervised

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// FrozenVariables returns the paths of the encoder variables that partial fine-tuning from
// scope trainableFrom keeps frozen: those the encoder creates before its first variable under
// trainableFrom ("encoder/stage3" or "/encoder/stage3"). The creation order is read by
// building the encoder once, in inference mode, on one image shaped like split's, in a
// scratch store. It is an error when no variable lives under trainableFrom; the message
// lists the encoder's top-level scopes.
func FrozenVariables(backend compute.Backend, enc models.Encoder, split *data.Split, trainableFrom string) (paths []string, err error) {
	defer trainutil.Recover("supervised: frozen variables", &err)
	prefix := "/" + strings.Trim(trainableFrom, "/")
	if !strings.HasPrefix(prefix, "/"+models.EncoderScope+"/") {
		return nil, fmt.Errorf("supervised: TrainableFrom %q is not a scope inside /%s", trainableFrom, models.EncoderScope)
	}
	if split == nil || split.N == 0 {
		return nil, fmt.Errorf("supervised: frozen variables: empty split")
	}
	scratch := model.NewStore()
	if err := buildEncoder(backend, scratch, enc, split); err != nil {
		return nil, err
	}
	var before []string
	tops := map[string]bool{}
	var topOrder []string
	for v := range scratch.IterVariables() {
		if trainutil.UnderScope(v, prefix) {
			return before, nil
		}
		before = append(before, v.Path())
		if parts := strings.SplitN(strings.TrimPrefix(v.Scope(), "/"), "/", 3); len(parts) >= 2 && !tops[parts[1]] {
			tops[parts[1]] = true
			topOrder = append(topOrder, models.EncoderScope+"/"+parts[1])
		}
	}
	return nil, fmt.Errorf("supervised: TrainableFrom %q: no encoder variable under it (the encoder's scopes, in order: %s)",
		trainableFrom, strings.Join(topOrder, ", "))
}

// buildEncoder runs enc once, in inference mode, on the first image of split with the
// variables of store: missing variables are created, and variables a checkpoint restored
// lazily (GoMLX loads them when a graph first uses them) are loaded into the store.
func buildEncoder(backend compute.Backend, store *model.Store, enc models.Encoder, split *data.Split) error {
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, images *graph.Node) *graph.Node {
		return enc.Encode(scope.In(models.EncoderScope), images)
	})
	if err != nil {
		return err
	}
	defer exec.Finalize()
	image := tensors.FromFlatDataAndDimensions(split.ImagesFloat32([]int{0}), 1, split.Height, split.Width, split.Channels)
	out, err := exec.Call(image)
	if err != nil {
		return err
	}
	for _, t := range out {
		t.FinalizeAll()
	}
	return nil
}

// freeze makes the training step leave the given variables as they were before it: their
// values at the start of the step are written back after the optimizer's update and the
// batch-norm running-average updates. (Marking them not trainable would not do: layers such
// as batch norm mark their variables trainable again whenever the graph is built.)
func freeze(scope *model.Scope, g *graph.Graph, paths []string) {
	store := scope.Store()
	type kept struct {
		v   *model.Variable
		old *graph.Node
	}
	olds := make([]kept, 0, len(paths))
	for _, p := range paths {
		v := store.GetVariable(p)
		if v == nil {
			panic(fmt.Errorf("frozen variable %s is missing from the fine-tuned store", p))
		}
		olds = append(olds, kept{v, v.NodeValue(g)})
	}
	train.AddPerStepUpdateGraphFn(scope.In("medssl_freeze"), g, func(_ *model.Scope, g *graph.Graph) {
		for _, k := range olds {
			k.v.SetNodeValue(k.old)
		}
	})
}
