//go:build unix

package study

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive advisory lock on f, released when f is closed or the
// process dies (so a killed shard never leaves a stale lock). A file another process
// holds is an error: two processes appending the same cells would compute them twice.
func lockFile(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return fmt.Errorf("study: %s is being written by another process (the same study or shard started twice?)", f.Name())
	}
	if err != nil {
		return fmt.Errorf("study: locking %s: %w", f.Name(), err)
	}
	return nil
}
