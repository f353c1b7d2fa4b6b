package ssl

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/medssl/medssl/augment"
	"github.com/medssl/medssl/models"
	"github.com/medssl/medssl/ssl/ema"
)

// DINO is self-distillation with no labels (Caron et al., ICCV 2021): a student network
// (encoder and head to K prototype scores) learns to match, on every view, the sharpened
// and centred output distribution of a momentum teacher on the other global views.
// Multi-crop: two global views (the configured augmentation) and LocalCrops smaller local
// views; the teacher sees only the global ones.
//
// Defaults (NewDINO), from the paper and its reference code unless said:
//   - head: Linear-GELU-Linear-GELU-Linear to a 256-d bottleneck, hidden 2048 (0 means
//     min(2048, 8·FeatureDim)), L2 normalisation, then a weight-normalised linear layer
//     without bias to Prototypes outputs whose columns are kept at unit norm (NormLastLayer,
//     the code's norm_last_layer=True);
//   - Prototypes K = 4096 instead of the paper's 65536, sized for medical datasets of
//     thousands of images (set 65536 for the paper's ImageNet setting);
//   - student temperature 0.1; teacher temperature 0.04 after a linear warm-up from
//     WarmupTeacherTemp over the first WarmupFraction = 0.1 of the run (30 of 300 epochs);
//     the code's default starts the warm-up at 0.04 too, the paper's ViT runs warm from 0.04
//     to TeacherTemp 0.07;
//   - centering: the teacher's outputs minus a centre c, c ← 0.9·c + 0.1·mean of the teacher
//     outputs of the batch (both global views), updated after the optimizer step;
//   - teacher momentum from 0.996 to 1 by a cosine schedule; the teacher (encoder and head)
//     is described in ema.go: a copy of the student at the first step, then an EMA;
//   - multi-crop: LocalCrops = 6 local views (the paper's main runs use 10; its multi-crop
//     study uses 2×224 + 6×96), crop area LocalScale = (0.05, 0.4) of the image, resized to
//     LocalSize = 3/7 of the image side (96 of 224 px; 12 px for 28 px images). The encoder
//     must accept the smaller size: ResNet does, the ViT interpolates its position
//     embeddings.
//
// Downstream protocols load the student encoder (under "encoder", like every method); the
// paper evaluates the teacher, whose encoder is kept in the store under
// "ssl/dino/teacher/encoder" with the same variable names. Not implemented from the
// reference code: freezing the last layer during the first epoch and gradient clipping.
type DINO struct {
	// LocalCrops is the number of local views (Views() = 2 + LocalCrops).
	LocalCrops int
	// LocalScale is the area range of local crops as a fraction of the image.
	LocalScale [2]float64
	// LocalSize is the side of a local view as a fraction of the image side.
	LocalSize float64
	// HeadHidden and HeadBottleneck are the widths of the head's MLP (0 hidden: min(2048, 8·F)).
	HeadHidden, HeadBottleneck int
	// Prototypes is the number K of outputs of the head.
	Prototypes int
	// NormLastLayer keeps each prototype column at unit norm (weight normalisation with a
	// fixed gain of 1); false makes the last layer a plain linear map.
	NormLastLayer bool
	// StudentTemp and TeacherTemp are the softmax temperatures; the teacher's rises (or
	// falls) linearly from WarmupTeacherTemp to TeacherTemp over the first WarmupFraction of
	// the run.
	StudentTemp, TeacherTemp, WarmupTeacherTemp, WarmupFraction float64
	// CenterMomentum is the EMA momentum of the centre.
	CenterMomentum float64
	// BaseMomentum rises to FinalMomentum by the cosine schedule.
	BaseMomentum, FinalMomentum float64
}

// NewDINO returns DINO with the defaults above.
func NewDINO() *DINO {
	return &DINO{
		LocalCrops: 6, LocalScale: [2]float64{0.05, 0.4}, LocalSize: 3.0 / 7.0,
		HeadBottleneck: 256, Prototypes: 4096, NormLastLayer: true,
		StudentTemp: 0.1, TeacherTemp: 0.04, WarmupTeacherTemp: 0.04, WarmupFraction: 0.1,
		CenterMomentum: 0.9, BaseMomentum: 0.996, FinalMomentum: 1,
	}
}

// Name implements Method.
func (m *DINO) Name() string { return "dino" }

// Views implements Method: two global views, then the local ones.
func (m *DINO) Views() int { return 2 + max(0, m.LocalCrops) }

// check panics on settings out of range.
func (m *DINO) check() {
	checkMomentum(m.Name(), m.BaseMomentum, m.FinalMomentum)
	switch {
	case m.LocalCrops < 0 || m.Prototypes <= 0 || m.HeadBottleneck <= 0 || m.HeadHidden < 0:
		exceptions.Panicf("ssl: dino: LocalCrops must be >= 0 and head widths positive, got %+v", *m)
	case m.LocalCrops > 0 && !(0 < m.LocalScale[0] && m.LocalScale[0] <= m.LocalScale[1] && m.LocalScale[1] <= 1 && m.LocalSize > 0 && m.LocalSize <= 1):
		exceptions.Panicf("ssl: dino: LocalScale %v must be a range in (0, 1] and LocalSize %g in (0, 1]", m.LocalScale, m.LocalSize)
	case m.StudentTemp <= 0 || m.TeacherTemp <= 0 || m.WarmupTeacherTemp <= 0 || m.WarmupFraction < 0:
		exceptions.Panicf("ssl: dino: temperatures must be positive, got student %g, teacher %g (warm-up %g over %g)", m.StudentTemp, m.TeacherTemp, m.WarmupTeacherTemp, m.WarmupFraction)
	case m.CenterMomentum < 0 || m.CenterMomentum > 1:
		exceptions.Panicf("ssl: dino: CenterMomentum must be in [0, 1], got %g", m.CenterMomentum)
	}
}

// ViewAugment implements ViewAugmenter: views 0 and 1 use the configured transform; the
// local views replace its crop by a small one (an augment.Pipeline keeps its other stages)
// or, for any other transform, apply the small crop after it.
func (m *DINO) ViewAugment(base augment.Transform, i int) augment.Transform {
	if i < 2 {
		return base
	}
	return augment.Func(func(scope *model.Scope, images *graph.Node) *graph.Node {
		dims := images.Shape().Dimensions
		if len(dims) != 4 {
			exceptions.Panicf("ssl: dino: images must be [B, H, W, C], got %s", images.Shape())
		}
		crop := augment.RandomResizedCrop{
			Scale: m.LocalScale, Ratio: [2]float64{3.0 / 4.0, 4.0 / 3.0},
			Height: dinoLocalSide(dims[1], m.LocalSize), Width: dinoLocalSide(dims[2], m.LocalSize),
		}
		switch p := base.(type) {
		case augment.Pipeline:
			return dinoWithCrop(p, crop).Apply(scope, images)
		case *augment.Pipeline:
			return dinoWithCrop(*p, crop).Apply(scope, images)
		}
		return augment.Compose(base, crop).Apply(scope, images)
	})
}

// dinoWithCrop returns p with its crop replaced by crop (keeping p's aspect-ratio range).
func dinoWithCrop(p augment.Pipeline, crop augment.RandomResizedCrop) augment.Pipeline {
	if p.Crop.Ratio[0] > 0 {
		crop.Ratio = p.Crop.Ratio
	}
	p.CropP, p.Crop = 1, crop
	return p
}

// dinoLocalSide is the side of a local view: round(fraction·side), at least 1.
func dinoLocalSide(side int, fraction float64) int {
	return max(1, int(fraction*float64(side)+0.5))
}

// head is the DINO head on features [B, F]: MLP, L2 normalisation, prototypes; [B, K].
func (m *DINO) head(scope *model.Scope, features *graph.Node, featureDim int) *graph.Node {
	g := features.Graph()
	hidden := m.HeadHidden
	if hidden == 0 {
		hidden = min(2048, 8*featureDim)
	}
	scope = scope.ResetVisited()
	x := models.MLP(scope.In("mlp"), features, hidden, hidden, m.HeadBottleneck).
		BatchNorm(false).Activation(activation.TypeGelu).Done()
	x = graph.L2Normalize(x, -1)
	w := scope.VariableWithShape("prototypes", shapes.Make(x.DType(), m.HeadBottleneck, m.Prototypes)).NodeValue(g)
	if m.NormLastLayer {
		w = graph.L2Normalize(w, 0)
	}
	return graph.MatMul(x, w)
}

// teacherTemp is the teacher temperature at this step: linear from WarmupTeacherTemp to
// TeacherTemp over the first WarmupFraction of the run, then TeacherTemp.
func (m *DINO) teacherTemp(scope *model.Scope, g *graph.Graph) *graph.Node {
	final := graph.Scalar(g, dtypes.Float32, m.TeacherTemp)
	if m.WarmupFraction <= 0 || m.WarmupTeacherTemp == m.TeacherTemp {
		return final
	}
	p := TrainingProgress(scope, g)
	frac := graph.MinScalar(graph.DivScalar(p, m.WarmupFraction), 1)
	return graph.Add(graph.Scalar(g, dtypes.Float32, m.WarmupTeacherTemp), graph.MulScalar(frac, m.TeacherTemp-m.WarmupTeacherTemp))
}

// Loss implements Method.
func (m *DINO) Loss(scope *model.Scope, enc models.Encoder, views []*graph.Node) *graph.Node {
	g := views[0].Graph()
	m.check()
	if len(views) < 2 {
		exceptions.Panicf("ssl: dino needs at least the 2 global views, got %d", len(views))
	}
	f := enc.FeatureDim()
	feats := EncodeViews(scope, enc, views)
	ms := MethodScope(scope, m)
	headScope := ms.In("head")
	student := make([]*graph.Node, len(views))
	for i, h := range feats {
		student[i] = m.head(headScope, h, f)
	}

	teacherNet := ema.NewTarget(ms.In("teacher"))
	tEnc := teacherNet.Mirror(g, ema.OnlineScope(scope, models.EncoderScope), models.EncoderScope)
	tHead := teacherNet.Mirror(g, headScope, "head")
	teacher := make([]*graph.Node, 2)
	for i := range teacher {
		teacher[i] = graph.StopGradient(m.head(tHead, enc.Encode(tEnc, views[i]), f))
	}
	teacherNet.UpdateAfterStep(g, ema.CosineMomentum(TrainingProgress(scope, g), m.BaseMomentum, m.FinalMomentum))

	centerVar := ms.Store().VariableWithShape(model.JoinPath(ms.Scope(), "center"),
		shapes.Make(teacher[0].DType(), m.Prototypes), initializer.Zero).SetTrainable(false)
	loss := DINOLoss(student, teacher, centerVar.NodeValue(g), m.StudentTemp, m.teacherTemp(scope, g))
	train.AddPerStepUpdateGraphFn(ms, g, func(_ *model.Scope, g *graph.Graph) {
		batchCenter := graph.ReduceMean(graph.Concatenate(teacher, 0), 0)
		c := graph.Scalar(g, centerVar.DType(), m.CenterMomentum)
		centerVar.SetNodeValue(ema.Step(centerVar.NodeValue(g), batchCenter, c))
	})
	return loss
}

// DINOLoss is DINO's cross-entropy between the teacher's centred, sharpened distributions
// on the global views and the student's on every other view:
//
//	P_t^a = softmax((t_a − c)/τ_t),  log P_s^v = log_softmax(s_v/τ_s)
//	L = (1/n) Σ_{a ∈ teacher views} Σ_{v ≠ a} (1/B) Σ_b −P_t^a[b]·log P_s^v[b]
//
// with n the number of (a, v) pairs; student view v and teacher view a are the same view
// when v == a (the teacher's views are the first student views). student[v], teacher[a]
// are [B, K], center is [K], teacherTemp a scalar node (it follows a schedule).
func DINOLoss(student, teacher []*graph.Node, center *graph.Node, studentTemp float64, teacherTemp *graph.Node) *graph.Node {
	var total *graph.Node
	n := 0
	for a, t := range teacher {
		pt := graph.Softmax(graph.Div(graph.Sub(t, graph.ExpandAxes(center, 0)), graph.ConvertDType(teacherTemp, t.DType())), -1)
		for v, s := range student {
			if v == a {
				continue
			}
			logPs := graph.LogSoftmax(graph.DivScalar(s, studentTemp), -1)
			term := graph.ReduceAllMean(graph.Neg(graph.ReduceSum(graph.Mul(pt, logPs), -1)))
			if total == nil {
				total = term
			} else {
				total = graph.Add(total, term)
			}
			n++
		}
	}
	if n == 0 {
		exceptions.Panicf("ssl: DINOLoss: no (teacher, student) pairs of different views")
	}
	return graph.DivScalar(total, float64(n))
}

func init() { Register("dino", func() Method { return NewDINO() }) }
