//go:build goexperiment.simd

package medssl

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// Why this file exists: in Go 1.27 (checked on go1.27.3 and go1.27.4, the newest served), the
// experimental SIMD package's partial loads (archsimd.LoadFloat32x16Part and its kin, which
// the go backend's element-wise kernels use for the tail of a row or a buffer) load a whole
// vector and mask it afterwards. They read up to 60 bytes past the end of the slice. That is
// harmless inside the Go heap, except when the slice ends exactly where the heap's mapped
// memory ends: the next page is still reserved (PROT_NONE) and the process dies with
// "unexpected fault address ... SIGSEGV" inside ops.simdV2V1AddFloat32@simd512 (seen here
// in 1 of 29 runs of the models package's tests, and once in CI).
//
// We cannot patch the toolchain or GoMLX, so we keep slices away from that edge: the Go
// heap never unmaps what it has mapped, and it places new spans at the lowest free address.
// One large allocation, dropped at once, moves the mapped edge far above everything the
// process will allocate until its live heap approaches that size. The pages are never
// written, so resident memory does not grow (checked: RSS of a 1.4 GB allocation churn
// unchanged; /proc/self/maps shows the region readable and untouched). Remove this once a
// released Go masks the load itself.

// simdOverreadHeadroom is how far above the live heap the mapped edge is pushed: a quarter
// of physical memory, at most 8 GiB, at least 512 MiB. A quarter keeps the mapping within
// what Linux's default overcommit heuristic grants on any machine.
func simdOverreadHeadroom() int {
	const minHeadroom, maxHeadroom = 512 << 20, 8 << 30
	return max(minHeadroom, min(maxHeadroom, physicalMemory()/4))
}

var guardOnce sync.Once

// guardSIMDOverread pushes the heap's mapped edge up by simdOverreadHeadroom bytes, once.
func guardSIMDOverread() {
	guardOnce.Do(func() {
		headroom := make([]byte, simdOverreadHeadroom())
		runtime.KeepAlive(headroom) // the allocation happens; it is garbage from here on
		// Collect it; its pages then count as released, also against GOMEMLIMIT.
		debug.FreeOSMemory()
	})
}

// physicalMemory returns the machine's memory in bytes from /proc/meminfo, or 0 where
// there is none (the headroom then falls back to its minimum).
func physicalMemory() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
