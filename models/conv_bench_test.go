package models

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/medssl/medssl"
)

func benchConv(b *testing.B, c convCase, conv func(x, k *graph.Node, stride, pad int) *graph.Node) {
	backend := medssl.MustBackend()
	exec, err := graph.NewExec(backend, convFwdBwd(conv, c.stride, c.pad))
	if err != nil {
		b.Fatal(err)
	}
	ho := (c.size+2*c.pad-c.kernel)/c.stride + 1
	x := randomTensor(1, c.batch, c.size, c.size, c.in)
	k := randomTensor(2, c.kernel, c.kernel, c.in, c.out)
	r := randomTensor(3, c.batch, ho, ho, c.out)
	if _, err := exec.Exec(x, k, r); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		outs, err := exec.Exec(x, k, r)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	flops := 2.0 * 3 * float64(c.batch*ho*ho*c.out*c.kernel*c.kernel*c.in)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2D times forward+backward of the layer sizes of ResNet-18 with the small-image
// stem at 28 px (batch 32).
func BenchmarkConv2D(b *testing.B) {
	for _, c := range []convCase{
		{32, 28, 64, 64, 3, 1, 1},
		{32, 28, 64, 128, 3, 2, 1},
		{32, 14, 128, 128, 3, 1, 1},
		{32, 7, 256, 256, 3, 1, 1},
		{32, 4, 512, 512, 3, 1, 1},
		{32, 28, 64, 128, 1, 2, 0},
	} {
		b.Run(c.String(), func(b *testing.B) { benchConv(b, c, Conv2D) })
	}
}

// BenchmarkConv2DStock times GoMLX's stock convolution on one small case, for comparison
// with BenchmarkConv2D.
func BenchmarkConv2DStock(b *testing.B) {
	c := convCase{8, 14, 64, 64, 3, 1, 1}
	b.Run("stock/"+c.String(), func(b *testing.B) { benchConv(b, c, stockConv2D) })
	b.Run("models/"+c.String(), func(b *testing.B) { benchConv(b, c, Conv2D) })
}

// BenchmarkResNet18 times one forward and backward pass (gradients of every variable) of
// ResNet-18 in training mode at batch 32, for the small stem at 28 and 64 px, with and
// without Winograd's convolution.
func BenchmarkResNet18(b *testing.B) {
	for _, size := range []int{28, 64} {
		for _, winograd := range []bool{true, false} {
			b.Run(fmt.Sprintf("B32_%dpx/winograd=%v", size, winograd), func(b *testing.B) {
				defer func(was bool) { useWinograd = was }(useWinograd)
				useWinograd = winograd
				benchResNet18(b, ResNet18(), 32, size)
			})
		}
	}
}

func benchResNet18(b *testing.B, cfg ResNetConfig, batch, size int) {
	store := model.NewStore()
	exec, err := model.NewExec(medssl.MustBackend(), store, func(scope *model.Scope, x *graph.Node) []*graph.Node {
		scope.SetTraining(x.Graph(), true)
		features := cfg.Encode(scope.In(EncoderScope), x)
		loss := graph.ReduceAllMean(graph.Square(features))
		var vars []*graph.Node
		for v := range store.IterVariables() {
			if v.Trainable && v.Shape().Rank() > 0 {
				vars = append(vars, v.NodeValue(x.Graph()))
			}
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, vars...)...)
	})
	if err != nil {
		b.Fatal(err)
	}
	x := randomTensor(1, batch, size, size, 1)
	if _, err := exec.Exec(x); err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		outs, err := exec.Exec(x)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
}

// BenchmarkWinograd compares the stride-1 3×3 layers of ResNet-18 (small stem, 28 px,
// batch 32; and widths 8 and 16 at batch 256, the main job's), forward and backward, computed by
// im2col and by Winograd's F(2×2, 3×3).
func BenchmarkWinograd(b *testing.B) {
	for _, c := range []convCase{
		{32, 28, 64, 64, 3, 1, 1},
		{32, 14, 128, 128, 3, 1, 1},
		{32, 7, 256, 256, 3, 1, 1},
		{32, 4, 512, 512, 3, 1, 1},
		{256, 28, 8, 8, 3, 1, 1}, // width 8, the narrowest encoder the examples use
		{256, 28, 16, 16, 3, 1, 1},
		{256, 14, 32, 32, 3, 1, 1},
		{256, 7, 64, 64, 3, 1, 1},
		{256, 4, 128, 128, 3, 1, 1},
	} {
		b.Run("im2col/"+c.String(), func(b *testing.B) { benchConv(b, c, Conv2D) })
		b.Run("winograd/"+c.String(), func(b *testing.B) {
			benchConv(b, c, func(x, k *graph.Node, _, _ int) *graph.Node { return winograd3x3(x, k) })
		})
	}
}

// BenchmarkResNet18Parts times the ResNet-18 training step at batch 128, 28 px, computed
// on the whole batch and in 1, 2, 3 or 4 parts per CPU (batchParts), at widths 8, 16 (the
// main job's) and 64 (standard); partsPerCPU's choice comes from it.
func BenchmarkResNet18Parts(b *testing.B) {
	for _, width := range []int{8, 16, 64} {
		for _, perCPU := range []int{0, 1, 2, 3, 4} {
			b.Run(fmt.Sprintf("width%d/partsPerCPU=%d", width, perCPU), func(b *testing.B) {
				defer func(was int) { partsPerCPUOverride = was }(partsPerCPUOverride)
				partsPerCPUOverride = perCPU
				benchResNet18(b, ResNet18().Width(width), 128, 28)
			})
		}
	}
}
