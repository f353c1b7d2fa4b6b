package ssl

import "github.com/gomlx/gomlx/support/exceptions"

// momentumHidden is the hidden width of a momentum method's head: w if set, else
// min(4096, 8·features), which is the papers' 4096 for ResNet-18/50 encoders and scales
// down for narrow encoders.
func momentumHidden(w, features int) int {
	if w > 0 {
		return w
	}
	return min(4096, 8*features)
}

// checkMomentum panics unless 0 ≤ base ≤ final ≤ 1, naming the method.
func checkMomentum(method string, base, final float64) {
	if !(0 <= base && base <= final && final <= 1) {
		exceptions.Panicf("ssl: %s: momentum must rise within [0, 1], got %g to %g", method, base, final)
	}
}
