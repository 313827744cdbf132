// Package testbin builds the project's binaries for tests that run them as
// users do (the e2e suites, the console's browser tests): once per test
// package, into a directory of their own. Test support only.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Build builds the Go package at pkg (a path from the test's directory,
// such as ../cmd/ledgerd) into a new temporary directory, the compiler's
// output on stderr, and returns the binary's path and a function that
// removes the directory.
func Build(pkg string) (string, func(), error) {
	dir, err := os.MkdirTemp("", "ledger-testbin")
	if err != nil {
		return "", nil, err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building %s: %w", pkg, err)
	}
	return bin, func() { os.RemoveAll(dir) }, nil
}
