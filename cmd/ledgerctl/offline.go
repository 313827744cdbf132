package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/domain/catalog"
)

// exportFile is an export opened for an offline answer.
type exportFile struct {
	f      *os.File
	tenant string
	prog   *progress
}

// openExport opens the export of c.file. Its tenant is the one its first
// line names; --tenant, if given, must agree.
func openExport(c *common, e *env, label string) (*exportFile, error) {
	f, err := os.Open(c.file)
	if err != nil {
		return nil, err
	}
	l, _, err := audit.NewDecoder(f).Next()
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if errors.Is(err, io.EOF) {
		err = fmt.Errorf("%s is empty", c.file)
	}
	if err == nil && c.tenant != "" && l.Tenant != c.tenant {
		err = fmt.Errorf("%s holds tenant %q, not %q", c.file, l.Tenant, c.tenant)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &exportFile{f: f, tenant: l.Tenant, prog: c.progress(e, label)}, nil
}

// source reads the file's events, showing progress.
func (x *exportFile) source() audit.Source {
	src := audit.DecoderSource(audit.NewDecoder(x.f))
	return audit.WithProgress(src, 1000, func(n int) { x.prog.update("%d events replayed", n) })
}

// Close closes the file.
func (x *exportFile) Close() error {
	x.prog.clear()
	return x.f.Close()
}

// loadCatalog returns the catalog an offline answer names products with:
// the one ledgerd ran with (--catalog), or the built-in one.
func loadCatalog(path string) (*catalog.Catalog, error) {
	if path == "" {
		return catalog.Default(), nil
	}
	return catalog.LoadFile(path)
}
