//go:build !goexperiment.simd

package medssl

func simdNote() string { return ", SIMD kernels off: build with GOEXPERIMENT=simd for ~10x speed" }

// guardSIMDOverread is needed only with the SIMD kernels (simd_overread.go).
func guardSIMDOverread() {}
