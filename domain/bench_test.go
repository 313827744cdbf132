package domain_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// The benchmarks below measure Decide alone on the command mix of
// cmd/ledgerbench (assign one user 30 %, unassign 27 %, bulk assign and bulk
// unassign 20 users 5 % each, request 12 %, approve 11 %, change seats
// 10 %), against a fixed tenant: every command is accepted, and as deciding
// never changes the state, each can be decided again and again.

// benchProducts are the products cmd/ledgerbench assigns.
var benchProducts = []string{"SPB", "POWER_BI_PRO", "VISIOCLIENT", "O365_BUSINESS"}

const (
	benchUsers      = 200
	benchRequesters = 4
	benchPending    = 8
)

// benchCommand is one command to decide and who sends it.
type benchCommand struct {
	msg proto.Message
	ctx domain.Context
}

// benchTenant is the tenant the commands are decided against.
type benchTenant struct {
	st    *domain.State
	holds [][]bool // [product][user]
	admin domain.Context
	users []domain.Context // as each requester
}

// newBenchTenant registers benchUsers users, buys seats of each product for
// all of them and a bulk command more, has each user hold each product at
// random (one in two), and leaves benchPending requests pending.
func newBenchTenant(b *testing.B) *benchTenant {
	b.Helper()
	t := &benchTenant{st: domain.NewState("tenant000")}
	rng := rand.New(rand.NewPCG(1, 2))
	for u := range benchUsers {
		t.apply(b, &ledgerv1.UserRegistered{UserId: benchUser(u), DisplayName: "User", Email: benchUser(u) + "@example.com", UsageLocation: "US"})
	}
	for _, p := range benchProducts {
		t.apply(b, &ledgerv1.SubscriptionPurchased{SubscriptionId: "sub-" + p, ProductId: p, Seats: benchUsers + domain.MaxBulkUsers, Channel: ledgerv1.Channel_CHANNEL_DIRECT})
		holds := make([]bool, benchUsers)
		for u := range holds {
			if holds[u] = rng.IntN(2) == 0; holds[u] {
				t.apply(b, &ledgerv1.LicenseAssigned{UserId: benchUser(u), ProductId: p})
			}
		}
		t.holds = append(t.holds, holds)
	}
	for i := range benchPending {
		p := i % len(benchProducts)
		t.apply(b, &ledgerv1.LicenseRequested{RequestId: fmt.Sprintf("req-%d", i), ProductId: benchProducts[p], RequesterId: benchUser(i % benchRequesters), UserIds: []string{benchUser(i % benchRequesters), t.lacking(p, i)[0]}})
	}
	t.admin = t.context(domain.Principal{ID: "admin", Tenant: t.st.Tenant, Roles: []domain.Role{domain.GlobalAdministrator}})
	for u := range benchRequesters {
		t.users = append(t.users, t.context(domain.Principal{ID: benchUser(u), Tenant: t.st.Tenant}))
	}
	return t
}

func benchUser(u int) string { return fmt.Sprintf("u%04d", u) }

func (t *benchTenant) apply(b *testing.B, payload proto.Message) {
	e, err := ledgerv1.NewEvent(payload)
	if err != nil {
		b.Fatal(err)
	}
	e.Tenant = t.st.Tenant
	t.st.Apply(e)
}

func (t *benchTenant) context(p domain.Principal) domain.Context {
	return domain.Context{
		Principal: p, Roles: domain.EffectiveRoles(p, t.st), Now: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC),
		Catalog: catalog.Default(), NewID: func() string { return "01JNDX3QZ8M7W6K2V5T4R3P2N1" },
	}
}

// lacking returns the users who do not hold product p, from user start on
// (wrapping around), leaving out the requesters so that a request never
// names its sender twice; holding returns those who do.
func (t *benchTenant) lacking(p, start int) []string { return t.pick(p, start, false) }
func (t *benchTenant) holding(p, start int) []string { return t.pick(p, start, true) }

// pick returns the users, but the requesters, whose holding of p is held.
func (t *benchTenant) pick(p, start int, held bool) []string {
	var out []string
	for i := range benchUsers {
		if u := (start + i) % benchUsers; t.holds[p][u] == held && u >= benchRequesters {
			out = append(out, benchUser(u))
		}
	}
	return out
}

// commands returns n commands of each kind of the mix, by kind.
func (t *benchTenant) commands(n int) map[string][]benchCommand {
	out := map[string][]benchCommand{}
	for i := range n {
		p := i % len(benchProducts)
		prod := benchProducts[p]
		add := func(kind string, msg proto.Message, ctx domain.Context) {
			out[kind] = append(out[kind], benchCommand{msg: msg, ctx: ctx})
		}
		add("assign", &ledgerv1.AssignLicense{ProductId: prod, UserIds: t.lacking(p, i*7)[:1]}, t.admin)
		add("unassign", &ledgerv1.RevokeAssignment{ProductId: prod, UserIds: t.holding(p, i*7)[:1]}, t.admin)
		add("bulkassign", &ledgerv1.AssignLicense{ProductId: prod, UserIds: t.lacking(p, i*7)[:domain.MaxBulkUsers]}, t.admin)
		add("bulkunassign", &ledgerv1.RevokeAssignment{ProductId: prod, UserIds: t.holding(p, i*7)[:domain.MaxBulkUsers]}, t.admin)
		add("request", &ledgerv1.RequestLicense{RequestId: fmt.Sprintf("new-%d", i), ProductId: prod, UserIds: t.lacking(p, i*7)[:1], Message: "needed for the quarterly report"}, t.users[i%benchRequesters])
		add("approve", &ledgerv1.ApproveRequest{RequestId: fmt.Sprintf("req-%d", i%benchPending)}, t.admin)
		add("seats", &ledgerv1.ChangeSeats{SubscriptionId: "sub-" + prod, Seats: int32(benchUsers + domain.MaxBulkUsers + 1 + i%5)}, t.admin)
	}
	return out
}

// benchMix is the mix in percent, by kind.
var benchMix = []struct {
	kind    string
	percent int
}{{"assign", 30}, {"unassign", 27}, {"bulkassign", 5}, {"bulkunassign", 5}, {"request", 12}, {"approve", 11}, {"seats", 10}}

// mix returns 100 commands in the proportions of benchMix, shuffled.
func mix(byKind map[string][]benchCommand) []benchCommand {
	var out []benchCommand
	for _, m := range benchMix {
		for i := range m.percent {
			cmds := byKind[m.kind]
			out = append(out, cmds[i%len(cmds)])
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// BenchmarkDecide decides each kind of command of the mix, and the mix.
func BenchmarkDecide(b *testing.B) {
	t := newBenchTenant(b)
	byKind := t.commands(16)
	for _, m := range benchMix {
		b.Run(m.kind, func(b *testing.B) { runDecide(b, t.st, byKind[m.kind]) })
	}
	b.Run("mix", func(b *testing.B) { runDecide(b, t.st, mix(byKind)) })
}

func runDecide(b *testing.B, st *domain.State, cmds []benchCommand) {
	for _, c := range cmds { // every command of the mix is accepted
		if d, err := domain.Decide(st, c.msg, c.ctx); err != nil || len(d.Events) == 0 {
			b.Fatalf("Decide(%s) = %v, %v", domain.CommandName(c.msg), d.Events, err)
		}
	}
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		c := cmds[i%len(cmds)]
		if _, err := domain.Decide(st, c.msg, c.ctx); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// reportCPU reports the processor time the process used per operation
// since start, garbage collection included: unlike ns/op, it barely moves
// when other processes share the machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the processor time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
