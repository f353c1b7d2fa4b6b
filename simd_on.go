//go:build goexperiment.simd

package medssl

func simdNote() string { return ", SIMD kernels on" }
