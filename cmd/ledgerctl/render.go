package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/projections"
)

// timeLayout is how times are shown in text output.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// renderState writes a state as text tables.
func renderState(w io.Writer, st *audit.State) error {
	fmt.Fprintf(w, "Tenant %s as of %s: %d events, last at %s, head sha256 %s\n",
		st.Tenant, st.AsOf.Format(timeLayout), st.Sequence, orDash(st.LastEventTime.Format(timeLayout), st.Sequence == 0), orDash(st.Head, st.Head == ""))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	section(tw, "Licenses", "PRODUCT\tNAME\tPURCHASED\tASSIGNED\tAVAILABLE", len(st.Products))
	for _, p := range st.Products {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", p.ProductID, p.Name, p.Total, p.Assigned, p.Available)
	}
	section(tw, "Subscriptions", "SUBSCRIPTION\tPRODUCT\tSEATS\tCHANNEL\tSTATE\tSELF-SERVICE OWNER", len(st.Subscriptions))
	for _, s := range st.Subscriptions {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", s.SubscriptionID, s.ProductID, s.Seats, s.Channel, s.State, orDash(s.SelfServiceOwner, s.SelfServiceOwner == ""))
	}
	section(tw, "Users", "USER\tGUEST\tPRODUCT\tHELD\tPLANS OFF", len(st.Users))
	for _, u := range st.Users {
		userRows(tw, u)
	}
	section(tw, "Requests", "REQUEST\tPRODUCT\tREQUESTER\tUSERS\tREQUESTED\tSTATUS\tDECIDED\tBY", len(st.Requests))
	for _, r := range st.Requests {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RequestID, r.ProductID, r.RequesterID, strings.Join(r.UserIDs, " "),
			r.RequestedAt.Format(timeLayout), r.Status, orDash(r.DecidedAt.Format(timeLayout), r.DecidedAt.IsZero()), orDash(r.DecidedBy, r.DecidedBy == ""))
	}
	return tw.Flush()
}

// userRows writes one row per license of the user, and per license error.
func userRows(tw io.Writer, u projections.UserView) {
	guest := map[bool]string{true: "yes", false: "no"}[u.Guest]
	if len(u.Licenses) == 0 && len(u.Errors) == 0 {
		fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\n", u.UserID, guest)
	}
	for _, l := range u.Licenses {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.UserID, guest, l.ProductID, held(l), orDash(strings.Join(l.DisabledPlans, " "), len(l.DisabledPlans) == 0))
	}
	for _, e := range u.Errors {
		fmt.Fprintf(tw, "%s\t%s\t%s\tnot held: %s through group %s\t-\n", u.UserID, guest, e.ProductID, e.Code, e.GroupID)
	}
}

// held says how a license is held: directly, through groups, or both.
func held(l projections.UserLicense) string {
	var how []string
	if l.Direct {
		how = append(how, "direct")
	}
	for _, g := range l.Groups {
		how = append(how, "group "+g)
	}
	return strings.Join(how, ", ")
}

// renderHistory writes a history as a table, one change a line.
func renderHistory(w io.Writer, h *historyAnswer) error {
	fmt.Fprintf(w, "History of %s %s in tenant %s: %d changes\n\n", h.Subject.Kind, h.Subject.ID, h.Tenant, len(h.Entries))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSEQ\tEVENT\tACTOR\tCOMMAND\tCORRELATION\tCAUSE\tDATA")
	for _, e := range h.Entries {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Format(timeLayout), e.Sequence, e.Type, e.Actor, e.Command,
			e.CorrelationID, orDash(e.Cause, e.Cause == ""), compact(e.Data))
	}
	return tw.Flush()
}

// section starts a titled table, or says it is empty.
func section(tw io.Writer, title, header string, rows int) {
	if rows == 0 {
		fmt.Fprintf(tw, "\n%s: none\n", title)
		return
	}
	fmt.Fprintf(tw, "\n%s\n%s\n", title, header)
}

// compact returns JSON on one line.
func compact(data json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		return string(data)
	}
	return b.String()
}

func orDash(s string, empty bool) string {
	if empty {
		return "-"
	}
	return s
}
