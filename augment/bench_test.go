package augment_test

import (
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
	"github.com/medssl/medssl/augment"
)

// benchTransform measures one compiled transform on n real 28x28x1 images (the first call,
// which compiles, is outside the timer). Images per second are reported as img/s.
func benchTransform(b *testing.B, n int, tr augment.Transform) {
	src := loadBreast(b, 256)
	x := newBatch(n, 28, 28, 1)
	for i := 0; i < n; i++ {
		copy(x.sample(i), src.sample(i%256))
	}
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(1); err != nil {
		b.Fatal(err)
	}
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, in *graph.Node) *graph.Node {
		return tr.Apply(scope, in)
	})
	if err != nil {
		b.Fatal(err)
	}
	defer exec.Finalize()
	input := x.tensor()
	run := func() {
		out, err := exec.Call(input)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range out {
			o.FinalizeAll()
		}
	}
	run()
	b.ResetTimer()
	for b.Loop() {
		run()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "img/s")
}

// BenchmarkMedicalDefault runs the MedicalDefault pipeline on 256 images of 28x28x1, and its
// stages alone (each with probability 1) to show where the time goes.
func BenchmarkMedicalDefault(b *testing.B) {
	m := augment.MedicalDefault()
	b.Run("pipeline", func(b *testing.B) { benchTransform(b, 256, m) })
	b.Run("simclr", func(b *testing.B) { benchTransform(b, 256, augment.SimCLRDefault()) })
	for _, st := range []struct {
		name string
		tr   augment.Transform
	}{
		{"crop", m.Crop}, {"rotation", m.Rotation}, {"flip", augment.HorizontalFlip{P: 0.5}},
		{"rot90", augment.Rotate90{}}, {"jitter", m.Jitter}, {"blur", m.Blur}, {"noise", m.Noise},
	} {
		b.Run(st.name, func(b *testing.B) { benchTransform(b, 256, st.tr) })
	}
}
