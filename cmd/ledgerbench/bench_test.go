package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// The benchmarks below measure the ledger's own processor cost per command
// and per event, over an in-memory store, so that profiles of them show
// what the ledger spends beside the store: go test -bench . -cpuprofile.

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchTenants seeds tenants into the store and returns their models.
func benchTenants(b *testing.B, store events.Store, n int) []*tenantModel {
	b.Helper()
	models := make([]*tenantModel, n)
	for i := range models {
		models[i] = newTenantModel(fmt.Sprintf("tenant%03d", i), 200)
		if err := models[i].seed(context.Background(), newEventWriter(store, models[i].id, 500)); err != nil {
			b.Fatal(err)
		}
	}
	return models
}

// BenchmarkExecute runs the command mix through ledger.Service.Execute.
func BenchmarkExecute(b *testing.B) {
	ctx := context.Background()
	store := audittest.NewMemStore()
	svc := ledger.New(store, ledger.Options{Logger: discard})
	c := newClient(1, benchTenants(b, store, 10))
	b.ReportAllocs()
	events := 0
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		cmd := c.next()
		res, err := svc.Execute(ctx, ledger.Command{Tenant: cmd.tenant.id, Principal: cmd.principal, Message: cmd.msg})
		if err != nil {
			b.Fatal(err)
		}
		events += len(res.Events)
		cmd.accepted()
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// BenchmarkProject applies the records the command mix wrote to the read
// models, as the projector does after the store delivers them.
func BenchmarkProject(b *testing.B) {
	ctx := context.Background()
	store := audittest.NewMemStore()
	svc := ledger.New(store, ledger.Options{Logger: discard})
	models := benchTenants(b, store, 10)
	c := newClient(1, models)
	for range 20_000 {
		cmd := c.next()
		if _, err := svc.Execute(ctx, ledger.Command{Tenant: cmd.tenant.id, Principal: cmd.principal, Message: cmd.msg}); err != nil {
			b.Fatal(err)
		}
		cmd.accepted()
	}
	var recs []events.Record
	for _, m := range models {
		recs = append(recs, store.Records(m.id)...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	n := 0
	for n < b.N {
		p := projections.NewProjector(store, discard, projections.NewLicenses(svc.Catalog()), projections.NewRequests(time.Now))
		for i, r := range recs {
			if n == b.N {
				break
			}
			r.Position = events.Position(i + 1)
			if err := p.Apply(r); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
}

// reportCPU reports the processor time the process used per operation
// since start: unlike ns/op, it barely moves when other processes share the
// machine.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
