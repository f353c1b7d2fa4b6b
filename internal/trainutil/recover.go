package trainutil

import (
	"fmt"
)

// Recover turns a panic raised while GoMLX builds or runs a graph into an error with the
// given prefix. Use as: defer trainutil.Recover("ssl: pretrain", &err).
func Recover(prefix string, err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(error); ok {
			*err = fmt.Errorf("%s: %w", prefix, e)
			return
		}
		*err = fmt.Errorf("%s: %v", prefix, r)
	}
}
