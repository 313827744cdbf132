package domain_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The domain tests read "given these events, when this command, then these
// events (or this refusal)". They need no store: the state is built by
// applying the given events, and the command is authorized and decided the
// way the ledger service does it.

const (
	contoso  = "contoso"  // the tenant of most scenarios
	fabrikam = "fabrikam" // another tenant
)

// t0 is when given events happen and, unless At says otherwise, when the
// command is decided.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// Principals of tenant contoso.
var (
	licenseAdmin = domain.Principal{ID: "lee", Tenant: contoso, Roles: []domain.Role{domain.LicenseAdministrator}}
	userAdmin    = domain.Principal{ID: "uma", Tenant: contoso, Roles: []domain.Role{domain.UserAdministrator}}
	globalAdmin  = domain.Principal{ID: "gina", Tenant: contoso, Roles: []domain.Role{domain.GlobalAdministrator}}
	system       = domain.Principal{ID: domain.SystemActor, System: true}
)

// as returns the principal of an ordinary user of contoso.
func as(userID string) domain.Principal { return domain.Principal{ID: userID, Tenant: contoso} }

// scenario is a state to decide a command against: given events, a
// principal and a time.
type scenario struct {
	t      *testing.T
	tenant string
	given  []*ledgerv1.Event
	p      domain.Principal
	now    time.Time
}

// Given starts a scenario in tenant from event payloads; each is wrapped in
// an envelope of the tenant at t0, unless it is already an *ledgerv1.Event
// (see on). The principal defaults to a License Administrator of contoso.
func Given(t *testing.T, tenant string, events ...proto.Message) *scenario {
	t.Helper()
	s := &scenario{t: t, tenant: tenant, p: licenseAdmin, now: t0}
	for _, m := range events {
		e, ok := m.(*ledgerv1.Event)
		if !ok {
			e = envelope(t, tenant, t0, m)
		}
		s.given = append(s.given, e)
	}
	return s
}

// on dates a given event: it happened at time at rather than t0.
func on(t *testing.T, at time.Time, payload proto.Message) *ledgerv1.Event {
	t.Helper()
	return envelope(t, contoso, at, payload)
}

func envelope(t *testing.T, tenant string, at time.Time, payload proto.Message) *ledgerv1.Event {
	t.Helper()
	e, err := ledgerv1.NewEvent(payload)
	if err != nil {
		t.Fatal(err)
	}
	e.Tenant, e.Time = tenant, timestamppb.New(at)
	return e
}

// As sets who sends the command.
func (s *scenario) As(p domain.Principal) *scenario { s.p = p; return s }

// At sets when the command is decided.
func (s *scenario) At(now time.Time) *scenario { s.now = now; return s }

// state builds a fresh state from the given events. Each build applies its
// own copies of the events, so that two states never share memory.
func (s *scenario) state() *domain.State {
	st := domain.NewState(s.tenant)
	for _, e := range s.given {
		st.Apply(proto.Clone(e).(*ledgerv1.Event))
	}
	return st
}

// decide authorizes and decides cmd against st as the ledger service does.
func (s *scenario) decide(st *domain.State, cmd proto.Message) (domain.Decision, error) {
	if err := domain.AuthorizeAt(s.p, st, domain.CommandName(cmd), "", s.now); err != nil {
		return domain.Decision{}, err
	}
	n := 0
	return domain.Decide(st, cmd, domain.Context{
		Principal: s.p,
		Roles:     domain.EffectiveRolesAt(s.p, st, s.now),
		Now:       s.now,
		Catalog:   catalog.Default(),
		NewID:     func() string { n++; return fmt.Sprintf("id%d", n) },
	})
}

// When decides cmd. It checks that deciding leaves the state as it was and
// gives the same answer twice (deciding is pure), and that every event is
// an event payload.
func (s *scenario) When(cmd proto.Message) *outcome {
	s.t.Helper()
	st, pristine, again := s.state(), s.state(), s.state()
	d, err := s.decide(st, cmd)
	if !reflect.DeepEqual(st, pristine) {
		s.t.Errorf("Decide(%s) changed the state", domain.CommandName(cmd))
	}
	d2, err2 := s.decide(again, cmd)
	if fmt.Sprint(err) != fmt.Sprint(err2) || render(d.Events) != render(d2.Events) {
		s.t.Errorf("Decide(%s) is not deterministic:\n%v%s\nthen:\n%v%s", domain.CommandName(cmd), err, render(d.Events), err2, render(d2.Events))
	}
	for _, ev := range d.Events {
		if _, e := ledgerv1.NewEvent(ev); e != nil {
			s.t.Errorf("Decide(%s) returned a non-event: %v", domain.CommandName(cmd), e)
		}
	}
	return &outcome{s: s, cmd: cmd, d: d, err: err}
}

// outcome is what When decided.
type outcome struct {
	s   *scenario
	cmd proto.Message
	d   domain.Decision
	err error
}

// Then expects exactly these events, in this order (none: nothing recorded).
func (o *outcome) Then(want ...proto.Message) *outcome {
	o.s.t.Helper()
	if o.err != nil {
		o.s.t.Fatalf("%s refused: %v", domain.CommandName(o.cmd), o.err)
	}
	if !equalEvents(o.d.Events, want) {
		o.s.t.Errorf("%s decided the wrong events\n got:%s\nwant:%s", domain.CommandName(o.cmd), render(o.d.Events), render(want))
	}
	return o
}

// ThenError expects a refusal with code whose detail contains each of
// details; it returns the refusal for further checks.
func (o *outcome) ThenError(code domain.Code, details ...string) *domain.Error {
	o.s.t.Helper()
	e, ok := o.err.(*domain.Error)
	if !ok {
		o.s.t.Fatalf("%s: want a %s refusal, got error %v and events:%s", domain.CommandName(o.cmd), code, o.err, render(o.d.Events))
	}
	if e.Code != code {
		o.s.t.Errorf("%s: refusal code %s, want %s (%v)", domain.CommandName(o.cmd), e.Code, code, e)
	}
	for _, s := range details {
		if !strings.Contains(e.Detail, s) {
			o.s.t.Errorf("%s: refusal detail %q does not mention %q", domain.CommandName(o.cmd), e.Detail, s)
		}
	}
	return e
}

// ThenViolations expects a refusal listing exactly these violations, in
// order: same subjects and codes, and details containing the wanted detail.
// The refusal's code is the first violation's.
func (o *outcome) ThenViolations(want ...domain.Violation) *domain.Error {
	o.s.t.Helper()
	e := o.ThenError(want[0].Code)
	ok := len(e.Violations) == len(want)
	for i := 0; ok && i < len(want); i++ {
		got := e.Violations[i]
		ok = got.Subject == want[i].Subject && got.Code == want[i].Code && strings.Contains(got.Detail, want[i].Detail)
	}
	if !ok {
		o.s.t.Errorf("%s: violations\n got: %+v\nwant: %+v", domain.CommandName(o.cmd), e.Violations, want)
	}
	return e
}

// ThenNotice expects no events and a notice for the sender.
func (o *outcome) ThenNotice(want domain.Notice) {
	o.s.t.Helper()
	o.Then()
	if o.d.Notice == nil || *o.d.Notice != want {
		o.s.t.Errorf("%s: notice %+v, want %+v", domain.CommandName(o.cmd), o.d.Notice, want)
	}
}

// State returns the state after the decided events, applied at the time of
// the decision.
func (o *outcome) State() *domain.State {
	o.s.t.Helper()
	st := o.s.state()
	for _, ev := range o.d.Events {
		st.Apply(envelope(o.s.t, o.s.tenant, o.s.now, ev))
	}
	return st
}

func equalEvents(got, want []proto.Message) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			return false
		}
	}
	return true
}

// render lists events one a line, by type and fields, for failure messages.
func render(evs []proto.Message) string {
	var b strings.Builder
	for i, ev := range evs {
		fmt.Fprintf(&b, "\n  %d. %s{%s}", i+1, ev.ProtoReflect().Descriptor().Name(), prototext.MarshalOptions{}.Format(ev))
	}
	if len(evs) == 0 {
		b.WriteString(" (none)")
	}
	return b.String()
}

// ---- Event payloads, to state the given and expected events briefly ----

func member(id, country string) *ledgerv1.UserRegistered {
	return &ledgerv1.UserRegistered{UserId: id, DisplayName: id, Email: id + "@contoso.com", UsageLocation: country}
}

func guest(id, country string) *ledgerv1.UserRegistered {
	u := member(id, country)
	u.Guest, u.Email = true, id+"@partner.example"
	return u
}

// members registers n users user01, user02, ... in country and returns the
// events and the ids.
func members(n int, country string) ([]proto.Message, []string) {
	var evs []proto.Message
	var ids []string
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("user%02d", i)
		evs = append(evs, member(id, country))
		ids = append(ids, id)
	}
	return evs, ids
}

func bought(sub, product string, seats int32) *ledgerv1.SubscriptionPurchased {
	return &ledgerv1.SubscriptionPurchased{SubscriptionId: sub, ProductId: product, Seats: seats, Channel: ledgerv1.Channel_CHANNEL_DIRECT}
}

func assigned(user, product string, disabled ...string) *ledgerv1.LicenseAssigned {
	return &ledgerv1.LicenseAssigned{UserId: user, ProductId: product, DisabledPlans: disabled}
}

func inherited(user, product, group string, disabled ...string) *ledgerv1.LicenseAssigned {
	return &ledgerv1.LicenseAssigned{UserId: user, ProductId: product, GroupId: group, DisabledPlans: disabled}
}

// removed is a path of a license going while the user keeps the product.
func removed(user, product, group string) *ledgerv1.LicenseRemoved {
	return &ledgerv1.LicenseRemoved{UserId: user, ProductId: product, GroupId: group}
}

// lost is the last path of a license going: the data is kept 30 days
// after t0 (A8).
func lost(user, product, group string) *ledgerv1.LicenseRemoved {
	e := removed(user, product, group)
	e.DataRetainedUntil = timestamppb.New(t0.AddDate(0, 0, 30))
	return e
}

func groupCreated(id string) *ledgerv1.GroupCreated {
	return &ledgerv1.GroupCreated{GroupId: id, Name: id}
}

func joined(group, user string) *ledgerv1.GroupMemberAdded {
	return &ledgerv1.GroupMemberAdded{GroupId: group, UserId: user}
}

func left(group, user string) *ledgerv1.GroupMemberRemoved {
	return &ledgerv1.GroupMemberRemoved{GroupId: group, UserId: user}
}

func groupLicense(group, product string, disabled ...string) *ledgerv1.GroupLicenseAssigned {
	return &ledgerv1.GroupLicenseAssigned{GroupId: group, ProductId: product, DisabledPlans: disabled}
}

func requested(id, product string, users ...string) *ledgerv1.LicenseRequested {
	return &ledgerv1.LicenseRequested{RequestId: id, ProductId: product, RequesterId: users[0], UserIds: users}
}

func notified(request, user string, outcome ledgerv1.RequestOutcome, product, message string) *ledgerv1.RequestOutcomeNotified {
	return &ledgerv1.RequestOutcomeNotified{RequestId: request, UserId: user, Outcome: outcome, ProductId: product, Message: message}
}

func users(ids ...string) []string { return ids }

// concat joins lists of given events.
func concat(lists ...[]proto.Message) []proto.Message {
	var out []proto.Message
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// with returns a new list: base then more. Lists of given events are
// shared by scenarios, so they are never appended to in place.
func with(base []proto.Message, more ...proto.Message) []proto.Message {
	return concat(base, more)
}

// msgs makes a list of given events.
func msgs(ms ...proto.Message) []proto.Message { return ms }

// Outcomes, briefly.
const (
	approved  = ledgerv1.RequestOutcome_REQUEST_OUTCOME_APPROVED
	partially = ledgerv1.RequestOutcome_REQUEST_OUTCOME_PARTIALLY_APPROVED
	denied    = ledgerv1.RequestOutcome_REQUEST_OUTCOME_DENIED
	expired   = ledgerv1.RequestOutcome_REQUEST_OUTCOME_EXPIRED
	rejected  = ledgerv1.RequestOutcome_REQUEST_OUTCOME_REJECTED
)

// TestScenarioHelperCatchesWrongEvents keeps the helper honest: a wrong
// expectation must fail.
func TestScenarioHelperCatchesWrongEvents(t *testing.T) {
	if equalEvents([]proto.Message{assigned("alice", "SPB")}, []proto.Message{assigned("alice", "SPB", "TEAMS1")}) {
		t.Error("equalEvents ignores disabled plans")
	}
	if !equalEvents([]proto.Message{lost("alice", "SPB", "")}, []proto.Message{lost("alice", "SPB", "")}) {
		t.Error("equalEvents differs on equal events")
	}
}
