package ssl

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/medssl/medssl/internal/testutil"
	"github.com/medssl/medssl/models"
)

// emaTestConfig is a small, fast Pretrain setting for the momentum methods' tests.
func emaTestConfig(m Method) PretrainConfig {
	cfg := testPretrain(testutil.SmallEncoder{Width: 8}, m, 0, 16, 3)
	cfg.Optimizer.LearningRate = 1e-2
	return cfg
}

// emaValues reads every variable of the store as float32 values, by path.
func emaValues(t *testing.T, store *model.Store) (values map[string][]float32, trainable map[string]bool) {
	t.Helper()
	values, trainable = map[string][]float32{}, map[string]bool{}
	for v := range store.IterVariables() {
		if !v.DType().IsFloat() {
			continue
		}
		flat, err := tensors.CopyFlatData[float32](v.MustValue())
		if err != nil {
			t.Fatal(err)
		}
		values[v.Path()], trainable[v.Path()] = flat, v.Trainable
	}
	return values, trainable
}

// emaOnlinePath maps a target variable "/ssl/<name>/<root>/<rest>" to its online variable:
// "/encoder/..." for the encoder, "/ssl/<name>/<rest>" for heads.
func emaOnlinePath(name, root, targetPath string) (string, bool) {
	prefix := "/ssl/" + name + "/" + root + "/"
	rest, ok := strings.CutPrefix(targetPath, prefix)
	if !ok || !strings.Contains(rest, "/") {
		return "", false // not a target variable, or the ema_ready flag
	}
	if strings.HasPrefix(rest, models.EncoderScope+"/") {
		return "/" + rest, true
	}
	return "/ssl/" + name + "/" + rest, true
}

// emaCheckSteps checks a momentum method's target network (under /ssl/<name>/<root>) step
// by step on real data:
//
//   - a run whose momentum is 1 leaves the target at the online initial weights θ₀
//     (its target after one step is θ₀, the same initialisation by seed);
//   - the method is then run one step at a time (resumed from a checkpoint), and after step
//     j every target variable must equal m_j·ξ_{j−1} + (1−m_j)·θ_j, computed here from the
//     stored values, with ξ₀ = θ₀ and m_j = momentum(j) (Pretrain's total is j in the call
//     that runs step j), exactly: the graph computes the same float32 expression;
//   - every target variable is non-trainable (it gets no gradient and no optimizer update).
//
// Only trainable online variables are averaged; batch-norm running statistics are the
// target's own (package ssl/ema).
func emaCheckSteps(t *testing.T, root string, frozen, method Method, momentum func(step int) float64, steps int) {
	t.Helper()
	split := breastTrain(t)
	name := method.Name()

	cfg0 := emaTestConfig(frozen)
	cfg0.Steps = 1
	r0, err := Pretrain(split, cfg0)
	if err != nil {
		t.Fatal(err)
	}
	theta0, _ := emaValues(t, r0.Store)
	prevTarget := map[string][]float32{}
	for path := range theta0 {
		if online, ok := emaOnlinePath(name, root, path); ok {
			prevTarget[path] = theta0[path] // target after one step with momentum 1 = θ₀
			if _, found := theta0[online]; !found {
				t.Fatalf("target %s has no online variable %s", path, online)
			}
		}
	}
	if len(prevTarget) == 0 {
		t.Fatalf("no target variables under /ssl/%s/%s", name, root)
	}

	dir := t.TempDir()
	for j := 1; j <= steps; j++ {
		cfg := emaTestConfig(method)
		cfg.Steps, cfg.CheckpointDir = j, dir
		res, err := Pretrain(split, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != j {
			t.Fatalf("run to step %d stopped at %d", j, res.Steps)
		}
		values, trainable := emaValues(t, res.Store)
		m := float32(momentum(j))
		checked, moved := 0, 0
		for path, prev := range prevTarget {
			if trainable[path] {
				t.Errorf("step %d: target variable %s is trainable", j, path)
			}
			online, _ := emaOnlinePath(name, root, path)
			if !trainable[online] {
				continue // running statistics: the target's own
			}
			got, theta := values[path], values[online]
			for i := range got {
				want := m*prev[i] + (1-m)*theta[i]
				if got[i] != want {
					t.Fatalf("step %d: %s[%d] = %v, EMA rule gives %v (m=%v, previous %v, online %v)", j, path, i, got[i], want, m, prev[i], theta[i])
				}
				if got[i] != prev[i] {
					moved++
				}
				checked++
			}
		}
		if checked == 0 || moved == 0 {
			t.Fatalf("step %d: checked %d target values, %d moved", j, checked, moved)
		}
		for path := range prevTarget {
			prevTarget[path] = values[path]
		}
		// The optimizer never saw a target variable: Adam keeps no moments for them.
		for v := range res.Store.IterVariables() {
			if strings.HasPrefix(v.Path(), "/AdamOptimizer/ssl/"+name+"/"+root+"/") {
				t.Fatalf("step %d: optimizer state %s for a target variable", j, v.Path())
			}
		}
	}
}

// emaCosine is the cosine schedule written out: m = final − (final − base)·(cos(πp)+1)/2.
func emaCosine(base, final float64, done, total int) float64 {
	p := float64(done) / float64(total)
	return final - (final-base)*(math.Cos(math.Pi*p)+1)/2
}

func TestMomentumMethodsRegistered(t *testing.T) {
	for name, want := range map[string]Method{"byol": NewBYOL(), "moco-v2": NewMoCoV2(), "moco-v3": NewMoCoV3(), "dino": NewDINO()} {
		m, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		if m.Name() != name || m.Views() != want.Views() {
			t.Errorf("New(%q): %s with %d views, want %s with %d", name, m.Name(), m.Views(), want.Name(), want.Views())
		}
	}
}

// Settings out of range are errors from Pretrain naming the method, not panics.
func TestMomentumMethodsRejectBadSettings(t *testing.T) {
	split := breastTrain(t)
	smallQueue := NewMoCoV2()
	smallQueue.QueueSize = 8 // below the batch of 16
	badV3 := NewMoCoV3()
	badV3.Temperature = 0
	badBYOL := NewBYOL()
	badBYOL.BaseMomentum = 1.5
	badDINO := NewDINO()
	badDINO.LocalCrops, badDINO.StudentTemp = 1, 0
	for _, m := range []Method{smallQueue, badV3, badBYOL, badDINO} {
		cfg := emaTestConfig(m)
		cfg.Steps = 1
		_, err := Pretrain(split, cfg)
		if err == nil || !strings.Contains(err.Error(), "ssl: "+m.Name()) {
			t.Errorf("%s with bad settings: err = %v, want an error naming ssl: %s", m.Name(), err, m.Name())
		}
	}
}
