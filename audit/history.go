package audit

import (
	"encoding/json"
	"strings"
	"time"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/encoding/protojson"
)

// Entry is one change in a history: what happened, when, who asked, with
// which command, in which business operation, and why.
type Entry struct {
	Sequence      uint64    `json:"sequence"`
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	Type          string    `json:"type"`
	Actor         string    `json:"actor"`
	Command       string    `json:"command"`
	CommandID     string    `json:"commandId"`
	CorrelationID string    `json:"correlationId"`
	// Cause names what led to the change besides the command itself: the
	// request being decided or expired, the group a license comes through.
	Cause string `json:"cause,omitempty"`
	// Data is the event's payload in the protobuf JSON mapping.
	Data json.RawMessage `json:"data"`
}

// Period bounds a history or a report in time; a zero bound is open.
type Period struct {
	From time.Time
	To   time.Time
}

// Contains reports whether t is within the period, bounds included.
func (p Period) Contains(t time.Time) bool {
	return (p.From.IsZero() || !t.Before(p.From)) && (p.To.IsZero() || !t.After(p.To))
}

// History returns, in order, every event of the period whose payload names
// the subject. A request's history also holds the other events of the
// commands that touched it, such as the licenses its approval assigned.
func History(src Source, tenant string, s Subject, p Period) ([]Entry, error) {
	out := []Entry{}
	var ctx commandContext
	err := replay(src, tenant, func(e *ledgerv1.Event, _ *Chain) error {
		ctx.see(e)
		if !p.To.IsZero() && e.GetTime().AsTime().After(p.To) {
			return errStop
		}
		if p.Contains(e.GetTime().AsTime()) && ctx.selects(e, s) {
			out = append(out, entryOf(e, ctx.request))
		}
		return nil
	})
	return out, err
}

// commandContext follows the events of the command being read: they are
// contiguous in a tenant's history.
type commandContext struct {
	command string // command id
	request string // the request the command decided or expired, if any
}

// see moves the context to the event's command.
func (c *commandContext) see(e *ledgerv1.Event) {
	if e.GetCommandId() != c.command || c.command == "" {
		*c = commandContext{command: e.GetCommandId()}
	}
	switch e.Payload.(type) {
	case *ledgerv1.Event_RequestDecided, *ledgerv1.Event_RequestExpired:
		c.request = payloadID(e, "request")
	}
}

// selects reports whether the event belongs to the subject's history.
func (c *commandContext) selects(e *ledgerv1.Event, s Subject) bool {
	return mentions(e, s) || (s.Kind == "request" && c.request == s.ID)
}

// entryOf describes one event; request is the request its command decided.
func entryOf(e *ledgerv1.Event, request string) Entry {
	data, err := protojson.Marshal(e.PayloadMessage())
	if err != nil || len(data) == 0 {
		data = []byte("{}")
	}
	return Entry{
		Sequence: e.GetSequence(), ID: e.GetId(), Time: e.GetTime().AsTime(), Type: e.TypeName(),
		Actor: e.GetActor(), Command: e.GetCommand(), CommandID: e.GetCommandId(), CorrelationID: e.GetCorrelationId(),
		Cause: causeOf(e, request), Data: json.RawMessage(data),
	}
}

// causeOf names the request and the group behind a change, when any.
func causeOf(e *ledgerv1.Event, request string) string {
	var parts []string
	if r := payloadID(e, "request"); r != "" {
		request = r
	}
	if request != "" {
		parts = append(parts, "request "+request)
	}
	switch e.Payload.(type) {
	case *ledgerv1.Event_LicenseAssigned, *ledgerv1.Event_LicenseRemoved, *ledgerv1.Event_GroupLicenseMemberFailed:
		if g := payloadID(e, "group"); g != "" {
			parts = append(parts, "group "+g)
		}
	}
	return strings.Join(parts, ", ")
}
