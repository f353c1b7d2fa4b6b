// Command custom_task shows how a researcher adds a pretext task that medssl does not
// ship, in one file outside the library's packages, and evaluates it exactly as the
// built-in methods are evaluated.
//
// The task is relative patch position (Doersch, Gupta & Efros, ICCV 2015): cut an image
// into a 3×3 grid, take the centre tile and one of its 8 neighbours, encode both with the
// shared encoder and predict which neighbour it was. Anatomy has a canonical layout, so the
// task asks the encoder to learn it.
//
// The method implements ssl.Method (Name, Views, Loss) and registers itself with
// ssl.Register, so ssl.New("relative-position") and every tool that takes a method name
// find it. The program pretrains it and the built-in "rotation" task (or any -baseline)
// on the same encoder, data, augmentations and schedule, then evaluates both encoders with
// the same protocol: a linear probe on frozen features, model selection on the validation
// split, AUC and ACC on the test split.
//
//	go run ./examples/custom_task            # embedded BreastMNIST, a few minutes
//	go run ./examples/custom_task -epochs 30 -baseline simclr -seeds 3
package main

import (
	"context"
	"flag"
	"os"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train/loss"

	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/eval"
	"github.com/medssl/medssl/eval/study"
	"github.com/medssl/medssl/examples/internal/cli"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl"
)

// RelativePosition is the custom pretext task.
type RelativePosition struct {
	// TileSize is the side, in pixels, that both tiles are resized to before encoding
	// (default: a third of the image, rounded up).
	TileSize int
	// Jitter moves each tile by up to this fraction of a tile, so the task cannot be solved
	// from edge continuity alone (the paper's gaps and jitter; default 0.15).
	Jitter float64
	// Hidden is the width of the MLP that classifies the concatenated features (default 256).
	Hidden int
}

// neighbours are the 8 (row, column) offsets of the grid cells around the centre.
var neighbours = [][]float64{{-1, -1}, {-1, 0}, {-1, 1}, {0, -1}, {0, 1}, {1, -1}, {1, 0}, {1, 1}}

func init() {
	ssl.Register("relative-position", func() ssl.Method { return &RelativePosition{Jitter: 0.15, Hidden: 256} })
}

// Name implements ssl.Method.
func (m *RelativePosition) Name() string { return "relative-position" }

// Views implements ssl.Method: one augmented view; the tiles are cut from it.
func (m *RelativePosition) Views() int { return 1 }

// Loss implements ssl.Method.
func (m *RelativePosition) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	x := views[0]
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, h, w := dims[0], dims[1], dims[2]
	tileH, tileW := float64(h)/3, float64(w)/3
	size := m.TileSize
	if size == 0 {
		size = (h + 2) / 3
	}
	dt := x.DType()

	// The pretext label, drawn in the graph: which of the 8 neighbours, per sample.
	u := scope.RandomUniform(g, shapes.Make(dt, b))
	label := graph.ConvertDType(graph.ClipScalar(graph.Floor(graph.MulScalar(u, 8)), 0, 7), dtypes.Int32)
	offsets := graph.Const(g, neighbours)                                       // [8, 2]
	off := graph.Dot(graph.OneHot(label, 8, dtypes.Float64), offsets).Product() // [B, 2] rows, cols
	off = graph.ConvertDType(off, dt)

	box := func(rowCol *graph.Node) *graph.Node {
		jitter := graph.MulScalar(graph.AddScalar(graph.MulScalar(scope.RandomUniform(g, shapes.Make(dt, b, 2)), 2), -1), m.Jitter)
		pos := graph.Add(graph.AddScalar(rowCol, 1), jitter) // grid cell (1,1) is the centre
		y0 := graph.MulScalar(graph.Slice(pos, graph.AxisRange(), graph.AxisElem(0)), tileH)
		x0 := graph.MulScalar(graph.Slice(pos, graph.AxisRange(), graph.AxisElem(1)), tileW)
		// Keep the jittered box inside the image.
		y0 = graph.ClipScalar(y0, 0, float64(h)-tileH)
		x0 = graph.ClipScalar(x0, 0, float64(w)-tileW)
		hs := graph.Add(graph.ZerosLike(y0), graph.Scalar(g, dt, tileH))
		ws := graph.Add(graph.ZerosLike(x0), graph.Scalar(g, dt, tileW))
		return graph.Concatenate([]*graph.Node{y0, x0, hs, ws}, 1) // [B, 4]
	}
	centre := augment.CropResize(x, box(graph.ZerosLike(off)), size, size)
	neighbour := augment.CropResize(x, box(off), size, size)

	feats := ssl.EncodeViews(scope, enc, []*graph.Node{centre, neighbour})
	joint := graph.Concatenate(feats, 1)
	logits := models.MLP(ssl.MethodScope(scope, m).In("classifier"), joint, m.Hidden, 8).Done()
	labels := graph.Reshape(label, b, 1)
	return graph.ReduceAllMean(loss.SparseCategoricalCrossEntropyLogits([]*graph.Node{labels}, []*graph.Node{logits}))
}

func main() {
	dataPath := flag.String("data", "", "MedMNIST .npz file (default: the embedded BreastMNIST)")
	baseline := flag.String("baseline", "rotation", "built-in method to compare with (one of ssl.Names())")
	encoderName := flag.String("encoder", "resnet18-w16", "encoder: resnet18|34|50[-w<width>] or vit-tiny|vit-small/<patch>")
	epochs := flag.Int("pretrain-epochs", study.DefaultEpochs, "pretraining epochs")
	probeEpochs := flag.Int("probe-epochs", eval.DefaultProbeEpochs, "linear-probe epochs")
	seeds := flag.String("seeds", "1", "seeds: a number n means 1..n, or a comma-separated list")
	out := flag.String("out", "medssl-custom-task", "output folder (rerun to resume)")
	flag.Parse()

	cfg := study.DefaultConfig()
	var err error
	if cfg.Dataset, err = cli.Dataset(*dataPath); err != nil {
		cli.Fatal(err)
	}
	if cfg.Backend, err = medssl.Backend(); err != nil {
		cli.Fatal(err)
	}
	if cfg.Encoder, err = cli.Encoder("encoder", *encoderName); err != nil {
		cli.Fatal(err)
	}
	if cfg.Seeds, err = cli.Seeds(*seeds); err != nil {
		cli.Fatal(err)
	}
	// The same protocol as every built-in method: the study runner pretrains each method
	// once per seed and evaluates it with a linear probe (lr × weight decay searched on the
	// validation split) and kNN on frozen features; "none" is a random encoder, the floor.
	cfg.OutDir = *out
	cfg.Methods = []string{"relative-position", *baseline, study.NoPretraining}
	cfg.Arms = []eval.Arm{eval.ArmLinear, eval.ArmKNN}
	cfg.Fractions = []float64{1}
	cfg.Pretrain.Epochs, cfg.Protocols.Probe.Epochs = *epochs, *probeEpochs
	st, err := study.Run(context.Background(), cfg)
	if err != nil {
		cli.Fatal(err)
	}
	if err := st.Markdown(os.Stdout, study.MarkdownOptions{Title: "Relative patch position vs " + *baseline, PerCell: true}); err != nil {
		cli.Fatal(err)
	}
}
