//go:build goexperiment.simd && linux

package medssl

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestSIMDOverreadGuard checks the mechanism simd_overread.go relies on: after the guard, a
// new heap slice is followed by at least half the headroom of readable memory, so the SIMD
// kernels' overreading tail loads cannot reach an unmapped page. Without the guard the
// readable memory after a fresh slice ends within the current 4 MiB heap chunk.
func TestSIMDOverreadGuard(t *testing.T) {
	guardSIMDOverread()
	probe := make([]float32, 6144) // the size of the buffer in the crash this guards against
	end := uintptr(unsafe.Pointer(&probe[0])) + uintptr(len(probe))*4
	after, err := readableAfter(end)
	if err != nil {
		t.Fatal(err)
	}
	if want := uintptr(simdOverreadHeadroom() / 2); after < want {
		t.Fatalf("only %d MiB readable after a fresh slice, want at least %d MiB", after>>20, want>>20)
	}
}

// readableAfter returns how many bytes from addr on are mapped readable without a gap,
// merging adjacent mappings in /proc/self/maps.
func readableAfter(addr uintptr) (uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	reach := addr
	s := bufio.NewScanner(f)
	for s.Scan() { // the kernel lists mappings in address order
		var lo, hi uintptr
		var perm string
		if _, err := fmt.Sscanf(s.Text(), "%x-%x %s", &lo, &hi, &perm); err != nil {
			return 0, fmt.Errorf("/proc/self/maps: %q: %w", s.Text(), err)
		}
		if lo <= reach && reach < hi && strings.HasPrefix(perm, "r") {
			reach = hi
		}
	}
	return reach - addr, s.Err()
}
