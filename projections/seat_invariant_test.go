package projections_test

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/projections"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var (
	seatSeed = flag.Uint64("seat.seed", 0, "first seed of TestSeatInvariant (0: from the clock); a failure prints the seed of its run")
	seatRuns = flag.Int("seat.runs", 0, "runs of TestSeatInvariant (0: 2000, or 200 with -short)")
)

const (
	tenant    = "contoso"
	seatSteps = 60 // random commands per run, after the prelude
)

// admin sends every command but license requests, as a Global
// Administrator: the property is about seats, not roles, so nothing is
// refused for a missing role (assigning to guests included, T3).
var admin = domain.Principal{ID: "gina", Tenant: tenant, Roles: []domain.Role{domain.GlobalAdministrator}}

// TestSeatInvariant decides random sequences of commands against
// domain.State, as the ledger service does (Authorize, then Decide), and
// applies the accepted events to the State and to the Licenses read model.
// After every step it checks that:
//
//	(a) no product is over-assigned: its holders never exceed the usable,
//	    admin-managed seats (A3, S1, S3, A6);
//	(b) the read model's total, assigned and available seats per product,
//	    and every user's licenses, equal both domain.State's and those
//	    computed independently from the raw events (the tally);
//	(c) a refusal changes nothing: Decide returns no events and leaves the
//	    state as it was (deciding never changes the state).
//
// At the end of each run, the State, the read model (fed the events as
// stored records through a Projector) and the tally are rebuilt from the
// first event and must equal those built step by step.
//
// Each run has its own seed, printed on failure with the commands of the
// run, so that -seat.seed=N -seat.runs=1 replays it. Runs are independent:
// they are shared out over one parallel subtest per CPU.
func TestSeatInvariant(t *testing.T) {
	seed, runs := *seatSeed, *seatRuns
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	if runs == 0 {
		runs = 2000
		if testing.Short() {
			runs = 200
		}
	}
	shards := min(runtime.GOMAXPROCS(0), runs)
	t.Logf("seed %d: %d runs of %d steps in %d shards (replay a run with -run TestSeatInvariant -seat.seed=N -seat.runs=1)", seed, runs, seatSteps, shards)
	covs := make([]*coverage, shards)
	start := time.Now()
	t.Run("shards", func(t *testing.T) {
		for k := range shards {
			covs[k] = newCoverage()
			t.Run(fmt.Sprint(k), func(t *testing.T) {
				t.Parallel()
				for i := k; i < runs; i += shards {
					seatRun(t, seed+uint64(i), covs[k], runs <= 10)
				}
			})
		}
	})
	cov := merged(covs)
	t.Logf("%d runs in %v; %s", runs, time.Since(start).Round(time.Millisecond), cov)
	if !t.Failed() {
		cov.check(t, runs)
	}
}

// seatRun plays one run: the prelude, the random steps, the final replay.
func seatRun(t *testing.T, seed uint64, cov *coverage, strict bool) {
	w := newWorld(t, seed, cov)
	w.strict = strict
	w.prelude()
	for range seatSteps {
		w.step(w.next())
	}
	w.checkReplay()
}

// world is one run: the write model, the read model, the raw events and
// the tally folded from them.
type world struct {
	t    *testing.T
	seed uint64
	rng  *rand.Rand
	cat  *catalog.Catalog
	// products are those of productPool, the only ones commands name.
	products []catalog.Product
	cov      *coverage
	now      time.Time
	st       *domain.State
	model    *projections.Licenses
	// strict compares, after every step, the State with one rebuilt from
	// the events, to find the step whose decision changed the state it read;
	// otherwise that is checked once, at the end of the run.
	strict   bool
	events   []*ledgerv1.Event
	tally    *tally
	requests []string // ids of the requests recorded
	history  []decided
}

// decided is one command of a run and what came of it, formatted only when
// a failure prints the run.
type decided struct {
	p   domain.Principal
	cmd proto.Message
	err error
	evs []proto.Message
}

func (d decided) String() string {
	line := fmt.Sprintf("%s as %s {%s}", domain.CommandName(d.cmd), d.p.ID, prototext.MarshalOptions{}.Format(d.cmd))
	if d.err != nil {
		return line + " -> refused: " + d.err.Error()
	}
	return line + " -> " + eventTypes(d.evs)
}

func newWorld(t *testing.T, seed uint64, cov *coverage) *world {
	cat := catalog.Default()
	model := projections.NewLicenses(cat)
	products := make([]catalog.Product, len(productPool))
	for i, id := range productPool {
		products[i], _ = cat.Product(id)
	}
	return &world{
		t: t, seed: seed, rng: newRand(seed), cat: cat, products: products, cov: cov,
		now: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC),
		st:  domain.NewState(tenant), model: model, tally: newTally(),
	}
}

// prelude registers every user of the pool, buys a few subscriptions and
// creates two groups, so that the random steps find something to act on.
func (w *world) prelude() {
	for _, id := range userPool {
		w.step(admin, &ledgerv1.RegisterUser{UserId: id, DisplayName: id, Email: id + "@contoso.com", UsageLocation: w.pick(locations), Guest: w.chance(10)})
	}
	for _, sub := range subPool[:3] {
		w.step(admin, &ledgerv1.PurchaseSubscription{SubscriptionId: sub, ProductId: w.pick(productPool[:5]), Seats: int32(1 + w.rng.IntN(4))})
	}
	for _, g := range groupPool[:2] {
		w.step(admin, &ledgerv1.CreateGroup{GroupId: g, Name: g})
	}
}

// step decides one command, applies what it accepted and checks the
// invariants.
func (w *world) step(p domain.Principal, cmd proto.Message) {
	w.now = w.now.Add(time.Minute)
	d, err := w.decide(p, cmd)
	w.history = append(w.history, decided{p: p, cmd: cmd, err: err, evs: d.Events})
	w.cov.decided(domain.CommandName(cmd), err, d.Events)
	if err != nil {
		w.checkRefusal(d)
	}
	for _, payload := range d.Events {
		w.record(p, domain.CommandName(cmd), payload)
	}
	w.check()
}

// checkRefusal checks that a refusal changes nothing: it comes with no
// events, so the seats the next check compares stay as they were. That
// Decide leaves the state it reads alone is checked against a State
// rebuilt from the events: after every step in strict mode, else at the
// end of the run.
func (w *world) checkRefusal(d domain.Decision) {
	if len(d.Events) > 0 {
		w.fail("a refusal came with %d events", len(d.Events))
	}
}

// decide authorizes and decides the command as ledger.Service does.
func (w *world) decide(p domain.Principal, cmd proto.Message) (domain.Decision, error) {
	if err := domain.Authorize(p, w.st, domain.CommandName(cmd), ""); err != nil {
		return domain.Decision{}, err
	}
	ids := events.IDs(fmt.Sprintf("cmd-%d", len(w.history)), "property-test", w.now)
	return domain.Decide(w.st, cmd, domain.Context{
		Principal: p, Roles: domain.EffectiveRoles(p, w.st), Now: w.now, Catalog: w.cat, NewID: ids,
	})
}

// record wraps an accepted payload into an event and applies it to the
// State and the read model. (The end of the run replays the events as
// stored records through a Projector.)
func (w *world) record(p domain.Principal, command string, payload proto.Message) {
	e, err := ledgerv1.NewEvent(payload)
	if err != nil {
		w.t.Fatal(err)
	}
	seq := uint64(len(w.events) + 1)
	e.Id, e.Tenant, e.Sequence = "ev-"+strconv.FormatUint(seq, 10), tenant, seq
	e.Time, e.Actor, e.Command = timestamppb.New(w.now), p.ID, command
	w.st.Apply(proto.Clone(e).(*ledgerv1.Event)) // shares nothing with the list
	w.model.Apply(e)
	w.tally.apply(e)
	w.events = append(w.events, e)
	if r, ok := e.Payload.(*ledgerv1.Event_LicenseRequested); ok {
		w.requests = append(w.requests, r.LicenseRequested.RequestId)
	}
}

// check verifies the seat invariants after a step.
func (w *world) check() {
	if len(w.tally.problems) > 0 {
		w.fail("the events make no sense: %s", strings.Join(w.tally.problems, "; "))
	}
	rows := map[string]projections.ProductView{}
	for _, r := range w.model.Products(tenant) {
		rows[r.ProductID] = r
	}
	holders, modelHolders := w.tally.holders(), w.model.Holders(tenant)
	for id := range modelHolders {
		if !slices.Contains(productPool, id) {
			w.fail("the read model counts holders of %s, which no command names", id)
		}
	}
	for _, p := range w.products {
		w.checkProduct(p, rows, holders[p.ID], modelHolders[p.ID])
	}
	if w.strict && !reflect.DeepEqual(w.st, w.rebuiltState()) {
		w.fail("the last decision changed the state it read: the State differs from one rebuilt from the events")
	}
}

// checkProduct checks one product's seats in the tally, the State and the
// read model.
func (w *world) checkProduct(p catalog.Product, rows map[string]projections.ProductView, held, modelHolders int) {
	seats := w.tally.seats(p.ID)
	if held > seats {
		w.fail("%s is over-assigned: %d users hold it, %d seats", p.ID, held, seats)
	}
	if !p.Assignable && held > 0 {
		w.fail("add-on %s is held by %d users", p.ID, held)
	}
	if w.st.Assigned(p.ID) != held || w.st.Seats(p.ID) != seats {
		w.fail("%s: State says %d assigned of %d seats, the events %d of %d", p.ID, w.st.Assigned(p.ID), w.st.Seats(p.ID), held, seats)
	}
	if modelHolders != held {
		w.fail("%s: the read model counts %d holders, the events %d", p.ID, modelHolders, held)
	}
	row, listed := rows[p.ID]
	if want := p.Assignable && w.tally.bought(p.ID); listed != want {
		w.fail("%s listed on the Licenses page: %v, want %v", p.ID, listed, want)
	}
	if listed && (row.Total != seats || row.Assigned != held || row.Available != seats-held) {
		w.fail("%s: the read model says total %d, assigned %d, available %d; the events %d, %d, %d",
			p.ID, row.Total, row.Assigned, row.Available, seats, held, seats-held)
	}
}

// checkUser checks that the State, the read model and the tally agree on
// what one user holds and by which paths.
func (w *world) checkUser(id string) {
	want, known := w.tally.licenses(id), w.tally.paths[id] != nil
	view, inModel := w.model.User(tenant, id)
	u := w.st.Users[id]
	if inModel != known || (u != nil) != known {
		w.fail("user %s: known to the events %v, to the read model %v, to the State %v", id, known, inModel, u != nil)
	}
	if !known {
		return
	}
	fromModel, fromState := map[string][]string{}, map[string][]string{}
	for _, l := range view.Licenses {
		fromModel[l.ProductID] = paths(l.Direct, l.Groups)
	}
	for pid, l := range u.Licenses {
		fromState[pid] = paths(l.Direct, slices.Sorted(maps.Keys(l.Groups)))
	}
	if !reflect.DeepEqual(fromModel, want) || !reflect.DeepEqual(fromState, want) {
		w.fail("user %s holds, by the events %v, by the read model %v, by the State %v", id, want, fromModel, fromState)
	}
}

// checkReplay, at the end of a run, compares what every user holds in the
// State, the read model and the tally, then rebuilds the three from the
// first event — the read model through a Projector fed the events as
// stored records — and compares them with those built step by step.
func (w *world) checkReplay() {
	for _, id := range userPool {
		w.checkUser(id)
	}
	if !reflect.DeepEqual(tallyOf(w.events), w.tally) {
		w.fail("the tally folded from scratch differs from the one folded step by step")
	}
	if !reflect.DeepEqual(w.rebuiltState(), w.st) {
		w.fail("the State rebuilt from the events differs from the one built step by step: a decision changed the state it read (replay the seed: it finds the step)")
	}
	model := projections.NewLicenses(w.cat)
	proj := projections.NewProjector(nil, nil, model)
	for _, e := range w.events {
		rec, err := events.NewRecord(e)
		if err != nil {
			w.t.Fatal(err)
		}
		rec.Position = events.Position(e.GetSequence())
		if err := proj.Apply(rec); err != nil {
			w.t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(model.Products(tenant), w.model.Products(tenant)) {
		w.fail("the read model rebuilt from the stored events differs from the one built step by step")
	}
	for _, id := range userPool {
		got, _ := model.User(tenant, id)
		want, _ := w.model.User(tenant, id)
		if !reflect.DeepEqual(got, want) {
			w.fail("user %s in the read model rebuilt from the stored events: %+v, built step by step: %+v", id, got, want)
		}
	}
}

// rebuiltState applies copies of the run's events to a new State.
func (w *world) rebuiltState() *domain.State {
	st := domain.NewState(tenant)
	for _, e := range w.events {
		st.Apply(proto.Clone(e).(*ledgerv1.Event))
	}
	return st
}

// fail stops the test with the run's seed and commands.
func (w *world) fail(format string, args ...any) {
	w.t.Helper()
	lines := make([]string, len(w.history))
	for i, d := range w.history {
		lines[i] = d.String()
	}
	w.t.Fatalf("seed %d, after command %d of the run:\n%s\n\ncommands of the run:\n  %s\n\nreplay with -run TestSeatInvariant -seat.seed=%d -seat.runs=1",
		w.seed, len(w.history), fmt.Sprintf(format, args...), strings.Join(lines, "\n  "), w.seed)
}

// paths names the paths of a license: "direct" and its groups, sorted.
func paths(direct bool, groups []string) []string {
	out := []string{}
	if direct {
		out = append(out, "")
	}
	return append(out, groups...)
}

func sortedSet(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}

func eventTypes(payloads []proto.Message) string {
	if len(payloads) == 0 {
		return "no events"
	}
	names := make([]string, len(payloads))
	for i, p := range payloads {
		names[i] = string(p.ProtoReflect().Descriptor().Name())
	}
	return strings.Join(names, ", ")
}
