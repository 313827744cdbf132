package dirlock

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestASecondAcquireIsRefusedUntilRelease(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := Acquire(dir)
	require.NoError(t, err, "creates the directory and locks it")

	_, err = Acquire(dir)
	require.ErrorIs(t, err, ErrLocked)
	var le *LockedError
	require.ErrorAs(t, err, &le)
	assert.Equal(t, os.Getpid(), le.PID)
	assert.Contains(t, err.Error(), dir)
	assert.Contains(t, err.Error(), "pid "+strconv.Itoa(os.Getpid()))

	require.NoError(t, l.Release())
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err, "the lock file stays")
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(b))
	l, err = Acquire(dir)
	require.NoError(t, err, "a released lock can be taken again")
	require.NoError(t, l.Release())
}

// holdEnv makes the test binary, run as a child, hold the lock of the
// directory it names until killed.
const holdEnv = "DIRLOCK_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		if _, err := Acquire(dir); err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestAKilledHolderReleasesTheLock(t *testing.T) {
	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), holdEnv+"="+dir)
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, child.Start())
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked", strings.TrimSpace(line))

	_, err = Acquire(dir)
	var le *LockedError
	require.True(t, errors.As(err, &le), "held by the child: %v", err)
	assert.Equal(t, child.Process.Pid, le.PID)

	require.NoError(t, child.Process.Kill()) // SIGKILL: no cleanup runs
	_ = child.Wait()
	l, err := Acquire(dir)
	require.NoError(t, err, "the kernel released the dead holder's lock")
	require.NoError(t, l.Release())
}
