//go:build !goexperiment.simd

package medssl

func simdNote() string { return ", SIMD kernels off: build with GOEXPERIMENT=simd for ~10x speed" }
