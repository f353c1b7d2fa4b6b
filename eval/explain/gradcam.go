package explain

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/data"
	"github.com/medssl/medssl/internal/trainutil"
	"github.com/medssl/medssl/models"
)

// Target chooses the class each image's map explains: a class index (≥ 0), TrueClass or
// PredictedClass.
type Target int

const (
	// TrueClass explains each image's label: side by side, every arm then shows its
	// evidence for the same, correct class (the grid's default).
	TrueClass Target = -1
	// PredictedClass explains the class with the highest logit (pytorch-grad-cam's default).
	PredictedClass Target = -2
)

// LastStage selects the encoder's last feature map, Grad-CAM's usual layer (for a ResNet,
// stage 4: 4×4 on 28 px images with the small-image stem).
const LastStage = -1

// batchSize bounds the images of one Grad-CAM or rollout pass; a study explains a handful.
const batchSize = 32

// GradCAM returns the Grad-CAM map (Selvaraju et al., ICCV 2017) of every image of images,
// in inference mode (batch norm uses its running averages). For the class c chosen by
// target, with A_k the k-th channel of the encoder's feature map at stage (an index into
// StagedEncoder.Stages, LastStage for the last) and y_c the class's logit (before softmax):
//
//	α_k = (1/(h·w)) Σ_ij ∂y_c/∂A_k(i,j),    map = ReLU(Σ_k α_k A_k)
//
// upsampled to the image's size (Upsample) and divided by its maximum (Normalise; an
// all-zero map is reported by Map.Zero). The logits are the model's own: the head on the
// global average pool of the last feature map, whichever stage is weighed. The model needs
// a head and a StagedEncoder (ErrNoGradient otherwise).
func (m *Model) GradCAM(images *data.Split, target Target, stage int) (maps []Map, err error) {
	defer trainutil.Recover("explain: grad-cam", &err)
	enc, ok := m.Encoder.(StagedEncoder)
	switch {
	case m.head == nil:
		return nil, fmt.Errorf("%w: %s has no classification head (kNN votes have no gradient)", ErrNoGradient, m.Encoder.Name())
	case !ok:
		return nil, fmt.Errorf("%w: encoder %s has no feature maps (StagedEncoder)", ErrNoGradient, m.Encoder.Name())
	}
	if err := checkImages(images); err != nil {
		return nil, err
	}
	classes, err := targetClasses(images, target, m.NumClasses)
	if err != nil {
		return nil, err
	}
	head := m.head
	exec, err := model.NewExec(m.Backend, m.Store, func(scope *model.Scope, x, cls *Node) []*Node {
		stages := enc.Stages(scope.In(models.EncoderScope), x)
		s := stage
		if s == LastStage {
			s = len(stages) - 1
		}
		if s < 0 || s >= len(stages) {
			panic(fmt.Errorf("explain: stage %d out of range: %s has %d feature maps", stage, enc.Name(), len(stages)))
		}
		logits := head(scope, ReduceMean(stages[len(stages)-1], 1, 2))
		return gradCAMNodes(stages[s], logits, cls)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	for start := 0; start < images.N; start += batchSize {
		idx := indices(start, min(start+batchSize, images.N))
		x := tensors.FromFlatDataAndDimensions(images.ImagesFloat32(idx), len(idx), images.Height, images.Width, images.Channels)
		res, err := exec.Call(x, tensors.FromValue(classes[idx[0]:idx[0]+len(idx)]))
		if err != nil {
			return nil, err
		}
		gh, gw := res[3].Shape().Dimensions[1], res[3].Shape().Dimensions[2]
		k := res[2].Shape().Dimensions[1]
		out, err := flatten(res)
		if err != nil {
			return nil, err
		}
		logits, cls, weights, cam := out[0], out[1], out[2], out[3]
		for b := range idx {
			mp := newMap(MethodGradCAM, cam[b*gh*gw:(b+1)*gh*gw], gh, gw, images.Height, images.Width)
			mp.Class = int(cls[b])
			mp.Score = logits[b*m.NumClasses+mp.Class]
			mp.Probs = softmax(logits[b*m.NumClasses : (b+1)*m.NumClasses])
			mp.Predicted = argmax(mp.Probs)
			mp.Weights = weights[b*k : (b+1)*k]
			maps = append(maps, mp)
		}
	}
	return maps, nil
}

// gradCAMNodes builds Grad-CAM on feature maps [B, h, w, K] and logits [B, C] computed from
// them; cls [B] int32 holds each image's class, or -1 for its highest logit. It returns the
// logits, the classes explained (float32), the channel weights α [B, K] and the map
// ReLU(Σ_k α_k A_k) [B, h, w]. Images are independent in inference mode, so the gradient
// of the batch's summed scores gives every image its own ∂y_c/∂A.
func gradCAMNodes(maps, logits, cls *Node) []*Node {
	numClasses := logits.Shape().Dimensions[1]
	chosen := Where(GreaterOrEqual(cls, ScalarZero(cls.Graph(), cls.DType())), cls, ArgMax(logits, -1, cls.DType()))
	oneHot := StopGradient(OneHot(chosen, numClasses, logits.DType()))
	score := ReduceAllSum(Mul(logits, oneHot))
	grad := Gradient(score, maps)[0]
	alpha := ReduceMean(grad, 1, 2)                            // [B, K]
	cam := MaxScalar(Einsum("bhwk,bk->bhw", maps, alpha), 0.0) // ReLU
	return []*Node{logits, ConvertDType(chosen, dtypes.Float32), alpha, cam}
}

// targetClasses returns each image's class to explain as int32, -1 for "predicted".
func targetClasses(images *data.Split, target Target, numClasses int) ([]int32, error) {
	out := make([]int32, images.N)
	for i := range out {
		switch {
		case target == TrueClass:
			out[i] = int32(images.Label(i))
		case target == PredictedClass:
			out[i] = -1
		case target >= 0 && int(target) < numClasses:
			out[i] = int32(target)
		default:
			return nil, fmt.Errorf("explain: target class %d not in [0, %d)", target, numClasses)
		}
		if out[i] >= int32(numClasses) {
			return nil, fmt.Errorf("explain: image %d has label %d, the model has %d classes", i, out[i], numClasses)
		}
	}
	return out, nil
}

// checkImages reports an unusable set of images to explain.
func checkImages(images *data.Split) error {
	switch {
	case images == nil || images.N == 0:
		return errors.New("explain: no images")
	case images.LabelDim != 1:
		return fmt.Errorf("explain: split %q is multi-label (%d labels per image); explanations take one class per image", images.Name, images.LabelDim)
	}
	return nil
}

func indices(start, end int) []int {
	idx := make([]int, end-start)
	for i := range idx {
		idx[i] = start + i
	}
	return idx
}

// flatten copies every result to float32 host memory and frees it.
func flatten(res []*tensors.Tensor) ([][]float32, error) {
	out := make([][]float32, len(res))
	for i, t := range res {
		flat, err := tensors.CopyFlatData[float32](t)
		t.FinalizeAll()
		if err != nil {
			return nil, err
		}
		out[i] = flat
	}
	return out, nil
}

func softmax(logits []float32) []float32 {
	peak := math.Inf(-1)
	for _, l := range logits {
		peak = max(peak, float64(l))
	}
	out := make([]float32, len(logits))
	var z float64
	for i, l := range logits {
		e := math.Exp(float64(l) - peak)
		out[i] = float32(e)
		z += e
	}
	for i := range out {
		out[i] = float32(float64(out[i]) / z)
	}
	return out
}

func argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}
