package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// newWorkTenant is the tenant the new-work rows write; the workload's
// clients never see it.
const newWorkTenant = "newwork"

// newWorkStats is what this round's guarantees add to the ledger's work,
// each timed in alternating rounds on the same rig: an answer that
// records nothing (a no-op) is decided after reading the tenant's newest
// events; a command that records events, for scale; and the store probe
// that /readyz runs at most once a second.
type newWorkStats struct {
	noop, recorded, ping []time.Duration // per round, the median of its calls
}

// measureNewWork times rounds × n no-ops and n recorded commands,
// alternating, then the store's readiness probe.
func measureNewWork(ctx context.Context, r *rig, rounds, n int) (newWorkStats, error) {
	var s newWorkStats
	admin := domain.Principal{ID: "admin", Tenant: newWorkTenant, Roles: []domain.Role{domain.GlobalAdministrator}}
	exec := func(msg proto.Message) error {
		_, err := r.svc.Execute(ctx, ledger.Command{Tenant: newWorkTenant, Principal: admin, Message: msg})
		return err
	}
	assign := &ledgerv1.AssignLicense{ProductId: benchProducts[0], UserIds: []string{"u"}}
	for _, msg := range []proto.Message{
		&ledgerv1.RegisterUser{UserId: "u", UsageLocation: "US"},
		&ledgerv1.PurchaseSubscription{SubscriptionId: "s", ProductId: benchProducts[0], Seats: 1},
		assign,
	} {
		if err := exec(msg); err != nil {
			return s, fmt.Errorf("new work: %w", err)
		}
	}
	seats := []*ledgerv1.ChangeSeats{{SubscriptionId: "s", Seats: 2}, {SubscriptionId: "s", Seats: 1}}
	for round := range rounds {
		noop, err := timeCalls(n, func(int) error { return exec(assign) })
		if err != nil {
			return s, err
		}
		recorded, err := timeCalls(n, func(i int) error { return exec(seats[(round*n+i)%2]) })
		if err != nil {
			return s, err
		}
		ping, err := timeCalls(n, func(int) error { return events.Ping(ctx, r.store.Store) })
		if err != nil {
			return s, err
		}
		s.noop, s.recorded, s.ping = append(s.noop, noop), append(s.recorded, recorded), append(s.ping, ping)
	}
	return s, nil
}

// timeCalls calls fn n times and returns the median duration of a call.
func timeCalls(n int, fn func(i int) error) (time.Duration, error) {
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if err := fn(i); err != nil {
			return 0, err
		}
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	return d[n/2], nil
}

// reportNewWork adds the new-work rows: information beside the ratios,
// with no target of their own.
func reportNewWork(t *table, s newWorkStats) {
	noop, recorded := medianDuration(s.noop), medianDuration(s.recorded)
	t.add(secCommands, "no-op decided on the current state", fmt.Sprintf("%.0f µs", float64(noop)/1e3),
		fmt.Sprintf("median of %d alternating rounds (each the median call): an AssignLicense the user already holds, answered after reading the tenant's newest events; a command that appends, for scale: %.0f µs (%.2f×)",
			len(s.noop), float64(recorded)/1e3, float64(noop)/float64(max(recorded, 1))))
	t.add(secCommands, "/readyz store probe", fmt.Sprintf("%.0f µs", float64(medianDuration(s.ping))/1e3),
		"events.Ping, the store check of /readyz; /readyz runs its checks at most once a second, whoever polls")
}

// medianDuration returns the median of ds.
func medianDuration(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// newWorkCalls is how many calls each new-work round times: a few in a
// smoke run.
func newWorkCalls(cfg config) int {
	if cfg.smoke {
		return 20
	}
	return 500
}
