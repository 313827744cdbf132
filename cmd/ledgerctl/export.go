package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/licensing-ledger/ledger/audit"
)

// runExport writes the tenant's events, as stored, to a file or stdout.
func runExport(ctx context.Context, args []string, e *env) error {
	var c common
	var out string
	fs := newFlags("export", e, &c, false)
	fs.StringVar(&out, "out", "-", "file to write the export to (- for stdout)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected arguments %q: name the file with --out", rest)
	}
	if err := c.online(); err != nil {
		return err
	}
	prog := c.progress(e, "export")
	resp, err := fetchExport(ctx, &c, prog)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	dst, err := createOutput(out, e.stdout)
	if err != nil {
		return err
	}
	n, err := copyExport(dst, resp, prog)
	if err = dst.finish(err); err != nil {
		return err
	}
	prog.done("%d events of tenant %s written to %s; head sha256 %s", n, c.tenant, dst.name, resp.Trailer.Get(audit.TrailerHead))
	if damage := resp.Trailer.Get(audit.TrailerDamage); damage != "" {
		fmt.Fprintf(e.stderr, "warning: the server reports that this history is damaged: %s\nThe export holds every event stored; ledgerctl verify names the damage.\n", damage)
	}
	return nil
}

// fetchExport asks the server for the tenant's events.
func fetchExport(ctx context.Context, c *common, prog *progress) (*http.Response, error) {
	stop := prog.waiting()
	defer stop()
	return newClient(c).get(ctx, "events", nil)
}

// copyExport copies the export to dst and checks, from the trailers, that
// the server sent all of it. It returns the number of events.
func copyExport(dst io.Writer, resp *http.Response, prog *progress) (int, error) {
	cnt := &counter{r: resp.Body, p: prog, what: "events"}
	_, err := io.Copy(dst, cnt)
	n := cnt.lines
	if resp.Header.Get(checkpointSizeHeader) != "" {
		n-- // the first line is the export's signed checkpoint
	}
	if err != nil {
		return n, fmt.Errorf("after %d events: %w", n, err)
	}
	return n, complete(resp, n)
}

// complete checks an export's trailers once its body is read: the server
// tells there that it sent every event, or why it stopped.
func complete(resp *http.Response, lines int) error {
	if msg := resp.Trailer.Get(audit.TrailerExportError); msg != "" {
		return fmt.Errorf("the server stopped the export after %d events: %s", lines, msg)
	}
	count := resp.Trailer.Get(audit.TrailerEventCount)
	if count == "" {
		return fmt.Errorf("the export ended after %d events without its closing trailer: it is incomplete", lines)
	}
	if count != strconv.Itoa(lines) {
		return fmt.Errorf("the server sent %s events, %d arrived: the export is incomplete", count, lines)
	}
	return nil
}

// output is where a command writes its result: stdout, or a file that
// appears under its name only once complete.
type output struct {
	io.Writer
	name string
	tmp  *os.File
}

// createOutput opens path for writing; "-" is stdout.
func createOutput(path string, stdout io.Writer) (*output, error) {
	if path == "-" || path == "" {
		return &output{Writer: stdout, name: "stdout"}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, err
	}
	return &output{Writer: tmp, name: path, tmp: tmp}, nil
}

// finish keeps the file if err is nil, and removes it otherwise.
func (o *output) finish(err error) error {
	if o.tmp == nil {
		return err
	}
	cerr := o.tmp.Close()
	if err == nil && cerr == nil {
		return os.Rename(o.tmp.Name(), o.name)
	}
	os.Remove(o.tmp.Name())
	if err == nil {
		err = cerr
	}
	return err
}
