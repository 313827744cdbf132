package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// requestsPerTenant is how many requests each tenant of the replay data
// set holds, asked and denied.
const requestsPerTenant = 10

// dataset is the replay and memory data set: many tenants whose users hold
// every product, on a server that accepts TCP clients.
type dataset struct {
	srv     *natsServer
	tenants int
	events  int
	assigns int
}

// datasetTenant names the i-th tenant of the data set.
func datasetTenant(i int) string { return fmt.Sprintf("m%04d", i) }

// buildDataset starts a server and writes the data set into it.
func buildDataset(ctx context.Context, cfg config, dir string, log *slog.Logger) (*dataset, error) {
	srv, err := startNATS(filepath.Join(dir, "dataset"), false, true, log)
	if err != nil {
		return nil, err
	}
	store, err := openStore(ctx, srv.nc, "")
	if err != nil {
		srv.close()
		return nil, err
	}
	defer store.Close()
	start := time.Now()
	var written atomic.Int64
	stop := progress(log, "writing the replay data set", 0, &written)
	err = forEach(ctx, cfg.replayTenants, 8, func(i int) error {
		w := newEventWriter(store, datasetTenant(i), cfg.commitEvents)
		err := writeDatasetTenant(ctx, w, cfg.replayAssignments)
		written.Add(int64(w.written))
		return err
	})
	stop()
	if err != nil {
		srv.close()
		return nil, err
	}
	ds := &dataset{srv: srv, tenants: cfg.replayTenants, events: int(written.Load()), assigns: cfg.replayTenants * cfg.replayAssignments}
	log.Info("replay data set written", "tenants", ds.tenants, "events", ds.events, "took", time.Since(start).Round(time.Millisecond))
	return ds, nil
}

// writeDatasetTenant writes one tenant: its users registered, one
// subscription per product with a seat for each user, the assignments
// (every user gets every product, half in bulk commands, half one by one),
// and a few requests, denied.
func writeDatasetTenant(ctx context.Context, w *eventWriter, assignments int) error {
	users := userNames((assignments + len(benchProducts) - 1) / len(benchProducts))
	for _, u := range users {
		if err := w.command(ctx, "RegisterUser", registered(u)); err != nil {
			return err
		}
	}
	for _, p := range benchProducts {
		if err := w.command(ctx, "PurchaseSubscription", purchased(p, len(users))); err != nil {
			return err
		}
	}
	if err := writeAssignments(ctx, w, users, assignments); err != nil {
		return err
	}
	if err := writeRequests(ctx, w, users); err != nil {
		return err
	}
	return w.flush(ctx)
}

// writeAssignments gives products to users until n are assigned, product
// by product, alternating bulk commands of bulkSize users and as many
// single ones.
func writeAssignments(ctx context.Context, w *eventWriter, users []string, n int) error {
	done := 0
	for _, p := range benchProducts {
		for start := 0; start < len(users) && done < n; start += bulkSize {
			chunk := users[start:min(start+bulkSize, len(users), start+n-done)]
			var evs []proto.Message
			for _, u := range chunk {
				evs = append(evs, &ledgerv1.LicenseAssigned{UserId: u, ProductId: p})
			}
			if err := writeChunk(ctx, w, evs, (start/bulkSize)%2 == 0); err != nil {
				return err
			}
			done += len(chunk)
		}
	}
	return nil
}

// writeChunk writes the events as one bulk command or one command each.
func writeChunk(ctx context.Context, w *eventWriter, evs []proto.Message, bulk bool) error {
	if bulk {
		return w.command(ctx, "AssignLicense", evs...)
	}
	for _, e := range evs {
		if err := w.command(ctx, "AssignLicense", e); err != nil {
			return err
		}
	}
	return nil
}

// writeRequests has the first users each ask for a product, and denies it.
func writeRequests(ctx context.Context, w *eventWriter, users []string) error {
	for i := range min(requestsPerTenant, len(users)) {
		id := fmt.Sprintf("req-%d", i)
		asked := &ledgerv1.LicenseRequested{RequestId: id, ProductId: "MCOMEETADV", RequesterId: users[i], UserIds: []string{users[i]}, Message: "for the board meetings"}
		if err := w.command(ctx, "RequestLicense", asked); err != nil {
			return err
		}
		denied := &ledgerv1.RequestDecided{RequestId: id, Outcome: ledgerv1.RequestOutcome_REQUEST_OUTCOME_DENIED, ProductId: "MCOMEETADV", Message: "not this year"}
		told := &ledgerv1.RequestOutcomeNotified{RequestId: id, UserId: users[i], Outcome: ledgerv1.RequestOutcome_REQUEST_OUTCOME_DENIED, ProductId: "MCOMEETADV"}
		if err := w.command(ctx, "DenyRequest", denied, told); err != nil {
			return err
		}
	}
	return nil
}
