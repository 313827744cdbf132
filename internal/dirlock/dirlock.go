// Package dirlock gives one process at a time a directory: ledgerd takes
// the lock of its data directory before it opens anything in it, because
// two processes on one embedded NATS store each believe they own its files
// and acknowledged events are lost (O1).
//
// The lock is an exclusive flock(2) on the file FileName in the directory.
// The file stays after the lock is released and holds the pid of the last
// holder, for the message a refused process prints; it is the flock that
// matters, not the file. The kernel releases the flock when its holder
// exits, even by SIGKILL, so a restart after a crash needs no cleanup.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the name of the lock file in a locked directory.
const FileName = "ledgerd.lock"

// ErrLocked is the error Acquire wraps when another process, or another
// Acquire of this process, holds the directory's lock.
var ErrLocked = errors.New("the directory is locked by another process")

// Lock is a held directory lock. Release it when done with the directory.
type Lock struct {
	f *os.File
}

// LockedError says which directory is held, and by which pid when the
// lock file tells (0 when it does not).
type LockedError struct {
	Dir string
	PID int
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "pid " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s (lock %s); one process owns a data directory: stop it or choose another --data", e.Dir, holder, filepath.Join(e.Dir, FileName))
}

// Unwrap makes errors.Is(err, ErrLocked) hold.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Acquire creates dir if needed and takes its lock without waiting. When
// another process holds it, it fails with a *LockedError (ErrLocked) and
// changes nothing in the directory.
func Acquire(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the lock file: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &LockedError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if err := writePID(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing the pid to %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Release gives the directory up. The lock file stays.
func (l *Lock) Release() error {
	return l.f.Close() // closing the last descriptor releases the flock
}

// writePID replaces the lock file's content with this process's pid.
func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// readPID returns the pid a lock file holds, or 0.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
