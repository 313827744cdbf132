package main

import (
	"context"
	"io"
	"net/url"
	"slices"
	"time"

	"github.com/licensing-ledger/ledger/audit"
)

// reportFlags are a report's command line.
type reportFlags struct {
	common
	from, to, format, out, catalog string
}

// runReport writes a compliance report as CSV or JSON.
func runReport(ctx context.Context, args []string, e *env) error {
	var f reportFlags
	fs := newFlags("report", e, &f.common, true)
	fs.StringVar(&f.from, "from", "", "start of the period, instant or date (default: 30 days before --to)")
	fs.StringVar(&f.to, "to", "", "end of the period, instant or date, included (default: now)")
	fs.StringVar(&f.format, "format", "csv", "csv or json")
	fs.StringVar(&f.out, "out", "-", "file to write the report to (- for stdout)")
	fs.StringVar(&f.catalog, "catalog", "", "with --file: the product catalog ledgerd runs with (default: the built-in one)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || !slices.Contains(audit.ReportNames(), rest[0]) {
		return usagef("name one report: %s", reportList())
	}
	if err := checkArgs(nil, f.format, "csv", "json"); err != nil {
		return err
	}
	p, err := periodFlags(f.from, f.to, time.Time{}, time.Now().UTC())
	if p.From.IsZero() {
		p.From = audit.DefaultFrom(p.To)
	}
	if err != nil {
		return err
	}
	if err := audit.CheckReport(rest[0], p); err != nil {
		return usagef("%v", err)
	}
	dst, err := createOutput(f.out, e.stdout)
	if err != nil {
		return err
	}
	if f.file != "" {
		err = reportFromFile(dst, &f, e, rest[0], p)
	} else {
		err = reportFromServer(ctx, dst, &f, e, rest[0])
	}
	return dst.finish(err)
}

// reportFromServer copies the server's report, as it arrives.
func reportFromServer(ctx context.Context, dst io.Writer, f *reportFlags, e *env, name string) error {
	if err := f.online(); err != nil {
		return err
	}
	q := url.Values{"format": {f.format}}
	if f.from != "" {
		q.Set("from", f.from)
	}
	if f.to != "" {
		q.Set("to", f.to)
	}
	prog := f.progress(e, "report")
	stop := prog.waiting()
	resp, err := newClient(&f.common).get(ctx, "reports/"+name, q)
	stop()
	if err != nil {
		prog.clear()
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(dst, &counter{r: resp.Body, p: prog, what: "lines"})
	prog.clear()
	return err
}

// reportFromFile builds the report from an export file.
func reportFromFile(dst io.Writer, f *reportFlags, e *env, name string, p audit.Period) error {
	cat, err := loadCatalog(f.catalog)
	if err != nil {
		return err
	}
	x, err := openExport(&f.common, e, "report")
	if err != nil {
		return err
	}
	defer x.Close()
	rep, err := audit.BuildReport(name, x.source(), cat, x.tenant, p)
	if err != nil {
		return err
	}
	if f.format == "json" {
		return rep.WriteJSON(dst)
	}
	return rep.WriteCSV(dst)
}
