package models

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/medssl/medssl"
)

// cpuTime is the process's user+system CPU time: on a shared machine it varies less with
// other processes' load than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// randomTensor returns a seeded uniform [-1, 1) float32 tensor.
func randomTensor(seed uint64, dims ...int) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = rng.Float32()*2 - 1
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

type convCase struct {
	batch, size, in, out, kernel, stride, pad int
}

func (c convCase) String() string {
	return fmt.Sprintf("B%d_%dx%dx%d_k%d_s%d_o%d", c.batch, c.size, c.size, c.in, c.kernel, c.stride, c.out)
}

// convFwdBwd builds loss = Σ y·r for y = conv(x, k) and returns the loss and its gradients
// with respect to x and k: one forward and one backward pass of a convolution layer.
func convFwdBwd(conv func(x, k *graph.Node, stride, pad int) *graph.Node, stride, pad int) func(x, k, r *graph.Node) []*graph.Node {
	return func(x, k, r *graph.Node) []*graph.Node {
		y := conv(x, k, stride, pad)
		loss := graph.ReduceAllSum(graph.Mul(y, r))
		grads := graph.Gradient(loss, x, k)
		return []*graph.Node{loss, grads[0], grads[1]}
	}
}

// stockConv2D is GoMLX's own convolution, the reference.
func stockConv2D(x, k *graph.Node, stride, pad int) *graph.Node {
	return graph.Convolve(x, k).Strides(stride).PaddingPerDim([][2]int{{pad, pad}, {pad, pad}}).Done()
}

// outputAndGradient returns y = f(x) and the gradient of Σ y·r with respect to x.
func outputAndGradient(t *testing.T, f func(x *graph.Node) *graph.Node, x, r *tensors.Tensor) []*tensors.Tensor {
	t.Helper()
	exec, err := graph.NewExec(medssl.MustBackend(), func(x, r *graph.Node) []*graph.Node {
		y := f(x)
		return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, r)), x)[0]}
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(x, r)
	if err != nil {
		t.Fatal(err)
	}
	return outs
}
