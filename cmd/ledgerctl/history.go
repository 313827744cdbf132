package main

import (
	"context"
	"net/url"
	"time"

	"github.com/licensing-ledger/ledger/audit"
)

// historyAnswer is the server's answer to a history query.
type historyAnswer struct {
	Tenant  string        `json:"tenant"`
	Subject audit.Subject `json:"subject"`
	Entries []audit.Entry `json:"entries"`
}

// runHistory shows the history of one user, product, subscription,
// request or group.
func runHistory(ctx context.Context, args []string, e *env) error {
	var c common
	var from, to, format string
	fs := newFlags("history", e, &c, true)
	subjects := map[string]*string{}
	for _, k := range audit.SubjectKinds {
		subjects[k] = fs.String(k, "", "the "+k+" whose history to show")
	}
	fs.StringVar(&from, "from", "", "only changes from this instant or date on")
	fs.StringVar(&to, "to", "", "only changes up to this instant or date (included)")
	fs.StringVar(&format, "format", "text", "text or json")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	kind, id, err := oneOf(subjects)
	if err == nil {
		err = checkArgs(rest, format, "text", "json")
	}
	p, perr := periodFlags(from, to, time.Time{}, time.Time{})
	if err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	h, err := history(ctx, &c, e, audit.Subject{Kind: kind, ID: id}, p, from, to)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(e.stdout, h)
	}
	return renderHistory(e.stdout, h)
}

// history asks the server, or replays the export file.
func history(ctx context.Context, c *common, e *env, s audit.Subject, p audit.Period, from, to string) (*historyAnswer, error) {
	if c.file != "" {
		x, err := openExport(c, e, "history")
		if err != nil {
			return nil, err
		}
		defer x.Close()
		entries, err := audit.History(x.source(), x.tenant, s, p)
		return &historyAnswer{Tenant: x.tenant, Subject: s, Entries: entries}, err
	}
	if err := c.online(); err != nil {
		return nil, err
	}
	q := url.Values{s.Kind: {s.ID}}
	if from != "" {
		q.Set("from", from)
	}
	if to != "" {
		q.Set("to", to)
	}
	var h historyAnswer
	return &h, getJSON(ctx, c, e, "history", "history", q, &h)
}
