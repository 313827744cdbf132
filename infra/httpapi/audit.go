package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
)

// auditWriteWindow is how long an audit answer may take to write: replays
// and exports of large tenants outlast the server's write timeout.
const auditWriteWindow = 10 * time.Minute

// auditAPI serves the audit trail (L3, L4) from the event store itself, not
// from the live read models: the tenant's events as stored, its state as of
// an instant, histories and reports. Each answer replays the tenant's
// events and checks their hash chain as it goes.
type auditAPI struct {
	s           *Server
	store       events.Store
	now         func() time.Time
	checkpoints Checkpoints // nil: no checkpoints (L8)
}

func newAuditAPI(s *Server, store events.Store) *auditAPI {
	return &auditAPI{s: s, store: store, now: time.Now}
}

// export streams the tenant's events as stored, one JSON line each (see
// audit.Line), with the count and head hash as trailers. A damaged history
// is exported all the same, every event that is stored, with where it
// first breaks in the Ledger-Damage trailer: its auditors need it most.
func (a *auditAPI) export(w http.ResponseWriter, r *http.Request) {
	tenant, ok := a.authorize(w, r, domain.QueryExport, "")
	if !ok {
		return
	}
	start := time.Now()
	out := &startWriter{w: w}
	w.Header().Set("Content-Type", audit.ExportContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-events.ndjson"`, tenant))
	w.Header().Set("Trailer", strings.Join([]string{audit.TrailerEventCount, audit.TrailerHead, audit.TrailerExportError, audit.TrailerDamage}, ", "))
	enc := audit.NewEncoder(out)
	check := audit.NewChecker(tenant)
	limit, err := a.exportCheckpoint(w, r, tenant, enc)
	if err == nil {
		err = a.exportEvents(w, r, tenant, enc, limit, check)
	}
	a.endExport(w, r, tenant, enc, out.started, err, time.Since(start))
	if b := check.Break(); b != nil && err == nil {
		if w.Header().Get(HeaderCheckpointSize) != "" {
			b.Line++ // the file's line: the checkpoint line comes first
		}
		w.Header().Set(audit.TrailerDamage, b.Error())
		a.s.log.Warn("exported a damaged history", "tenant", tenant, "break", b.Error())
	}
}

// exportEvents writes the tenant's events, up to sequence limit if not 0,
// each checked against the chain as it goes.
func (a *auditAPI) exportEvents(w http.ResponseWriter, r *http.Request, tenant string, enc *audit.Encoder, limit uint64, check *audit.Checker) error {
	err := a.store.Read(r.Context(), tenant, events.Cursor{}, func(rec events.Record) error {
		if limit > 0 && rec.Sequence > limit {
			return errEnough
		}
		check.Next(rec)
		if err := enc.Encode(rec); err != nil {
			return err
		}
		if enc.Count()%1000 == 0 {
			return a.flush(w, enc)
		}
		return nil
	})
	if err == nil || errors.Is(err, errEnough) {
		err = enc.Flush()
	}
	return err
}

// exportCheckpoint writes the export's first line, the tenant's latest
// signed checkpoint, and returns the size it covers: the export stops
// there. A damaged tenant's export carries its last checkpoint and every
// event, for the auditor to find where they differ. A tenant without
// events, or whose checkpoint cannot be had now (NATS unreachable), has no
// checkpoint line.
func (a *auditAPI) exportCheckpoint(w http.ResponseWriter, r *http.Request, tenant string, enc *audit.Encoder) (uint64, error) {
	if a.checkpoints == nil {
		return 0, nil
	}
	cp, err := a.checkpoints.Latest(r.Context(), tenant)
	switch {
	case errors.Is(err, checkpoint.ErrNoCheckpoint):
		return 0, nil
	case errors.Is(err, checkpoint.ErrDamaged) && cp != nil:
		a.s.log.Error("exporting a tenant whose history does not match its latest checkpoint", "tenant", tenant, "err", err)
		w.Header().Set(HeaderCheckpointSize, strconv.FormatUint(cp.Size, 10))
		return 0, enc.EncodeCheckpoint(cp.Note)
	case err != nil:
		// The events are still worth having: exported without a checkpoint,
		// they fail verify --key as unsigned, which says to retry.
		a.s.log.Warn("exporting without a checkpoint", "tenant", tenant, "err", err)
		return 0, nil
	}
	w.Header().Set(HeaderCheckpointSize, strconv.FormatUint(cp.Size, 10))
	return cp.Size, enc.EncodeCheckpoint(cp.Note)
}

// flush sends what the encoder holds and gives the client more time.
func (a *auditAPI) flush(w http.ResponseWriter, enc *audit.Encoder) error {
	if err := enc.Flush(); err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(time.Minute))
	return rc.Flush()
}

// endExport sets the trailers, or, when nothing was sent yet, answers a
// failure as a problem.
func (a *auditAPI) endExport(w http.ResponseWriter, r *http.Request, tenant string, enc *audit.Encoder, started bool, err error, took time.Duration) {
	log := a.s.log.With("route", "export", "tenant", tenant, "events", enc.Count(), "took", took.Round(time.Millisecond))
	switch {
	case err != nil && !started:
		w.Header().Del("Trailer")
		a.replayError(w, r, tenant, err)
	case err != nil:
		w.Header().Set(audit.TrailerExportError, exportErrorText(err))
		log.Warn("audit export cut short", "err", err)
	default:
		w.Header().Set(audit.TrailerEventCount, strconv.Itoa(enc.Count()))
		w.Header().Set(audit.TrailerHead, enc.Head())
		log.Info("audit export")
	}
}

// exportErrorText is what the trailer of an export cut short says: a
// stable sentence; the error itself, which may name the store's files and
// addresses, goes to the log.
func exportErrorText(err error) string {
	if errors.Is(err, events.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return "the event store did not answer in time; export again"
	}
	return "internal error"
}

// startWriter notes whether anything was written, after which the status
// is sent and a failure can only be told in a trailer.
type startWriter struct {
	w       io.Writer
	started bool
}

// Write notes the start, then writes.
func (s *startWriter) Write(p []byte) (int, error) {
	s.started = true
	return s.w.Write(p)
}

// state answers the tenant's state as of ?asOf (RFC 3339; now if absent).
func (a *auditAPI) state(w http.ResponseWriter, r *http.Request) {
	asOf, err := instantParam(r.URL.Query(), "asOf", a.now())
	if err != nil {
		writeError(w, err)
		return
	}
	tenant, ok := a.authorize(w, r, domain.QueryState, "")
	if !ok {
		return
	}
	st, err := audit.StateAsOf(a.source(r, tenant), a.s.svc.Catalog(), tenant, asOf)
	if err != nil {
		a.replayError(w, r, tenant, err)
		return
	}
	a.s.log.Info("audit state", "tenant", tenant, "asOf", asOf, "sequence", st.Sequence)
	a.s.writeJSON(w, http.StatusOK, st)
}

// history answers the history of the one subject the query names, within
// the optional period ?from=&to=.
func (a *auditAPI) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	subject, err := subjectParam(q)
	var p audit.Period
	if err == nil {
		p, err = periodParams(q, time.Time{}, time.Time{})
	}
	if err != nil {
		writeError(w, err)
		return
	}
	tenant, ok := a.authorize(w, r, domain.QueryHistory, subjectUser(subject))
	if !ok {
		return
	}
	entries, err := audit.History(a.source(r, tenant), tenant, subject, p)
	if err != nil {
		a.replayError(w, r, tenant, err)
		return
	}
	a.s.log.Info("audit history", "tenant", tenant, "subject", subject.Kind+":"+subject.ID, "entries", len(entries))
	a.s.writeJSON(w, http.StatusOK, map[string]any{"tenant": tenant, "subject": subject, "entries": entries})
}

// report answers a compliance report over ?from=&to= (default: the last
// 30 days) as ?format=json (default) or csv.
func (a *auditAPI) report(w http.ResponseWriter, r *http.Request) {
	name, q := r.PathValue("report"), r.URL.Query()
	format, p, err := a.reportParams(name, q)
	if err != nil {
		writeError(w, err)
		return
	}
	tenant, ok := a.authorize(w, r, domain.QueryReports, "")
	if !ok {
		return
	}
	rep, err := audit.BuildReport(name, a.source(r, tenant), a.s.svc.Catalog(), tenant, p)
	if err != nil {
		a.replayError(w, r, tenant, err)
		return
	}
	a.s.log.Info("audit report", "tenant", tenant, "report", name, "rows", len(rep.Rows), "sequence", rep.Sequence)
	writeReport(w, rep, format)
}

// reportParams checks a report's name, format and period.
func (a *auditAPI) reportParams(name string, q url.Values) (string, audit.Period, error) {
	if !slices.Contains(audit.ReportNames(), name) {
		return "", audit.Period{}, domain.Errorf(domain.CodeNotFound, "there is no report %q; the reports are %s", name, strings.Join(audit.ReportNames(), ", "))
	}
	format := q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return "", audit.Period{}, domain.Errorf(domain.CodeValidationFailed, "format must be csv or json, not %q", format)
	}
	p, err := periodParams(q, time.Time{}, a.now().UTC())
	if err == nil && p.From.IsZero() {
		p.From = audit.DefaultFrom(p.To)
	}
	if err == nil {
		if cerr := audit.CheckReport(name, p); cerr != nil {
			err = domain.Errorf(domain.CodeValidationFailed, "%v", cerr)
		}
	}
	return format, p, err
}

// writeReport writes a report as CSV or JSON, with the last event it read.
func writeReport(w http.ResponseWriter, rep *audit.Report, format string) {
	w.Header().Set("Ledger-Sequence", strconv.FormatUint(rep.Sequence, 10))
	w.Header().Set(audit.TrailerHead, rep.Head)
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = rep.WriteJSON(w)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s-%s-%s.csv"`,
		rep.Tenant, rep.Name, rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly)))
	w.WriteHeader(http.StatusOK)
	_ = rep.WriteCSV(w)
}

// authorize authenticates the caller and checks the query in the tenant.
// It writes the refusal and returns false when the query may not run.
func (a *auditAPI) authorize(w http.ResponseWriter, r *http.Request, query, subjectUser string) (string, bool) {
	p, err := a.s.principal(r)
	if err != nil {
		writeError(w, err)
		return "", false
	}
	tenant := r.PathValue("tenant")
	err = a.s.svc.Authorize(r.Context(), tenant, p, query, subjectUser)
	if code := domain.ErrorCode(err); (code == domain.CodeDamaged || code == domain.CodeInternal) && p.Partner == "" {
		// The tenant's history cannot be loaded, a damaged one for one. Its
		// own principals' rights do not depend on it: let them audit it.
		a.s.log.Warn("authorizing an audit without the tenant's state", "tenant", tenant, "principal", p.String(), "err", err)
		err = domain.Authorize(p, domain.NewState(tenant), query, subjectUser)
	}
	if err != nil {
		writeError(w, err)
		return "", false
	}
	if a.store == nil {
		writeError(w, domain.Errorf(domain.CodeUnavailable, "this server was started without access to the event store: the audit routes are off"))
		return "", false
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(auditWriteWindow))
	a.s.log.Debug("audit query", "query", query, "tenant", tenant, "principal", p.String())
	return tenant, true
}

// source reads the tenant's events from the store for this request.
func (a *auditAPI) source(r *http.Request, tenant string) audit.Source {
	return audit.StoreSource(r.Context(), a.store, tenant)
}

// replayError answers a failed replay: a broken hash chain is the ledger's
// fault and is logged loudly; a store that does not answer is Unavailable.
func (a *auditAPI) replayError(w http.ResponseWriter, r *http.Request, tenant string, err error) {
	var b *audit.Break
	switch {
	case errors.As(err, &b):
		a.s.log.Error("the tenant's history does not verify", "tenant", tenant, "break", b.Error())
		writeError(w, domain.Errorf(domain.CodeDamaged, "the history of tenant %q does not verify (%v); export it and run ledgerctl verify", tenant, b))
	case errors.Is(err, events.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		writeError(w, domain.Errorf(domain.CodeUnavailable, "the event store did not answer in time; retry shortly"))
	case r.Context().Err() != nil:
		// The client went away; there is no one to answer.
	default:
		a.s.log.Error("audit query failed", "tenant", tenant, "path", r.URL.Path, "err", err)
		writeError(w, domain.Errorf(domain.CodeInternal, "internal error"))
	}
}

// instantParam reads an RFC 3339 instant, or returns def when absent. A '+'
// of an offset sent unencoded arrives as a space; it is read as '+'.
func instantParam(q url.Values, name string, def time.Time) (time.Time, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(v, " ", "+"))
	if err != nil {
		return time.Time{}, domain.Errorf(domain.CodeValidationFailed, "%s must be an RFC 3339 instant such as 2025-01-31T17:00:00Z, not %q", name, v)
	}
	return t.UTC(), nil
}

// periodParams reads ?from=&to=, each an RFC 3339 instant or a date (to
// includes its whole day), with defaults for absent bounds.
func periodParams(q url.Values, from, to time.Time) (audit.Period, error) {
	p := audit.Period{From: from, To: to}
	for _, b := range []struct {
		name     string
		endOfDay bool
		dst      *time.Time
	}{{"from", false, &p.From}, {"to", true, &p.To}} {
		v := strings.ReplaceAll(q.Get(b.name), " ", "+")
		if v == "" {
			continue
		}
		t, err := audit.ParseInstant(v, b.endOfDay)
		if err != nil {
			return p, domain.Errorf(domain.CodeValidationFailed, "%s: %v", b.name, err)
		}
		*b.dst = t
	}
	if !p.From.IsZero() && !p.To.IsZero() && p.To.Before(p.From) {
		return p, domain.Errorf(domain.CodeValidationFailed, "the period ends (to) before it starts (from)")
	}
	return p, nil
}

// subjectParam reads the one subject a history is about: exactly one of
// ?user=, ?product=, ?subscription=, ?request=, ?group=.
func subjectParam(q url.Values) (audit.Subject, error) {
	var found []audit.Subject
	for _, kind := range audit.SubjectKinds {
		if q.Has(kind) {
			found = append(found, audit.Subject{Kind: kind, ID: q.Get(kind)})
		}
	}
	if len(found) != 1 {
		return audit.Subject{}, domain.Errorf(domain.CodeValidationFailed, "name exactly one of %s, as in ?user=alice", strings.Join(audit.SubjectKinds, "=, ")+"=")
	}
	if err := audit.CheckSubject(found[0]); err != nil {
		return audit.Subject{}, domain.Errorf(domain.CodeValidationFailed, "%v", err)
	}
	return found[0], nil
}

// subjectUser is the user a history is about, for the rule that lets users
// read their own.
func subjectUser(s audit.Subject) string {
	if s.Kind == "user" {
		return s.ID
	}
	return ""
}
