//go:build unix

package dirlock

import (
	"errors"
	"os"
	"syscall"
)

// errWouldBlock is what lockFile answers when another holds the lock.
var errWouldBlock = syscall.EWOULDBLOCK

// lockFile takes an exclusive flock on f without waiting. A flock belongs
// to the open file description: a second open of the file, even in the
// same process, cannot take it.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
