//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

// errWouldBlock is never answered where there is no flock.
var errWouldBlock = errors.New("dirlock: would block")

// lockFile fails: ledgerd runs on Unix systems, where flock(2) exists.
func lockFile(*os.File) error {
	return errors.New("dirlock: directory locks need flock(2), a Unix system call")
}
