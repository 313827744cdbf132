package audit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

var activityColumns = []string{"time", "sequence", "eventId", "action", "actor", "command", "correlationId", "userId", "productId", "groupId", "requestId", "detail"}

// ActivityRow is one assignment, revocation, plan change, approval, denial
// or expiry: who did it, when, to whom, and in which operation.
type ActivityRow struct {
	Time          time.Time `json:"time"`
	Sequence      uint64    `json:"sequence"`
	EventID       string    `json:"eventId"`
	Action        string    `json:"action"`
	Actor         string    `json:"actor"`
	Command       string    `json:"command"`
	CorrelationID string    `json:"correlationId"`
	UserID        string    `json:"userId,omitempty"`
	ProductID     string    `json:"productId,omitempty"`
	GroupID       string    `json:"groupId,omitempty"`
	RequestID     string    `json:"requestId,omitempty"`
	Detail        string    `json:"detail,omitempty"`
}

// Values returns the row's cells.
func (r ActivityRow) Values() []string {
	return []string{csvTime(r.Time), strconv.FormatUint(r.Sequence, 10), r.EventID, r.Action, r.Actor, r.Command, r.CorrelationID,
		r.UserID, r.ProductID, r.GroupID, r.RequestID, r.Detail}
}

// buildActivity lists the period's license and request decisions.
func buildActivity(r *Report, src Source, _ *catalog.Catalog) error {
	var at position
	err := replay(src, r.Tenant, func(e *ledgerv1.Event, c *Chain) error {
		t := e.GetTime().AsTime()
		if t.After(r.To) {
			return errStop
		}
		at.advance(e, c)
		if action, user, detail := activityOf(e); action != "" && !t.Before(r.From) {
			r.Rows = append(r.Rows, ActivityRow{
				Time: t, Sequence: e.GetSequence(), EventID: e.GetId(), Action: action, Actor: e.GetActor(),
				Command: e.GetCommand(), CorrelationID: e.GetCorrelationId(), UserID: user,
				ProductID: payloadID(e, "product"), GroupID: payloadID(e, "group"), RequestID: payloadID(e, "request"), Detail: detail,
			})
		}
		return nil
	})
	r.at(at)
	return err
}

// activityOf names the action an event records, the one user it is about
// if any, and its details; "" for events the report leaves out. The users a
// request decision is about are in its details.
func activityOf(e *ledgerv1.Event) (action, user, detail string) {
	switch p := e.Payload.(type) {
	case *ledgerv1.Event_LicenseAssigned:
		return "assigned", p.LicenseAssigned.UserId, plansOff(p.LicenseAssigned.DisabledPlans)
	case *ledgerv1.Event_LicenseRemoved:
		return "revoked", p.LicenseRemoved.UserId, retained(p.LicenseRemoved)
	case *ledgerv1.Event_AssignmentPlansChanged:
		c := p.AssignmentPlansChanged
		return "plans_changed", c.UserId, fmt.Sprintf("%s (before: %s)", plansOff(c.DisabledPlans), plansOff(c.PreviousDisabledPlans))
	case *ledgerv1.Event_GroupLicenseAssigned:
		return "group_assigned", "", plansOff(p.GroupLicenseAssigned.DisabledPlans)
	case *ledgerv1.Event_GroupLicenseRemoved:
		return "group_revoked", "", ""
	case *ledgerv1.Event_GroupLicenseMemberFailed:
		f := p.GroupLicenseMemberFailed
		return "assignment_failed", f.UserId, f.Code + ": " + f.Detail
	case *ledgerv1.Event_RequestDecided:
		return outcomeName(p.RequestDecided.Outcome), "", decision(p.RequestDecided)
	case *ledgerv1.Event_RequestExpired:
		return "expired", "", "pending for more than 12 months"
	}
	return "", "", ""
}

func outcomeName(o ledgerv1.RequestOutcome) string {
	return strings.ToLower(strings.TrimPrefix(o.String(), "REQUEST_OUTCOME_"))
}

func plansOff(plans []string) string {
	if len(plans) == 0 {
		return "all plans on"
	}
	return "plans off: " + strings.Join(plans, " ")
}

func retained(e *ledgerv1.LicenseRemoved) string {
	if e.DataRetainedUntil == nil {
		return ""
	}
	return "data kept until " + e.DataRetainedUntil.AsTime().Format(time.DateOnly)
}

func decision(d *ledgerv1.RequestDecided) string {
	parts := []string{}
	if len(d.ApprovedUserIds) > 0 {
		parts = append(parts, "approved: "+strings.Join(d.ApprovedUserIds, " "))
	}
	if len(d.RejectedUserIds) > 0 {
		parts = append(parts, "rejected: "+strings.Join(d.RejectedUserIds, " "))
	}
	if d.Message != "" {
		parts = append(parts, "message: "+d.Message)
	}
	return strings.Join(parts, "; ")
}
