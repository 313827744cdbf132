package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// httpRig is the HTTP API over an in-memory store, with the projector
// following it, and the benchmark's HTTP client, for the benchmarks below
// and the tests of the client.
type httpRig struct {
	svc    *ledger.Service
	models []*tenantModel
	drv    overHTTP
	stop   func()
}

func newHTTPRig(b testing.TB, tenants int) *httpRig {
	b.Helper()
	store := audittest.NewMemStore()
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	p := projections.NewProjector(store, discard, lic, req)
	svc := ledger.New(store, ledger.Options{Logger: discard, Committed: p.ApplyCommitted})
	models := make([]*tenantModel, tenants)
	for i := range models {
		models[i] = newTenantModel(fmt.Sprintf("tenant%03d", i), 200)
		if err := models[i].seed(context.Background(), newEventWriter(store, models[i].id, 500)); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	if err := p.WaitCaughtUp(ctx); err != nil {
		b.Fatal(err)
	}
	authn, err := auth.New(authFile(models))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Service: svc, Projector: p, Licenses: lic, Requests: req, Auth: authn, Logger: discard, Store: store}))
	hc := newLeanClient(strings.TrimPrefix(srv.URL, "http://"), 64)
	return &httpRig{svc: svc, models: models, drv: newOverHTTP(hc), stop: func() {
		hc.closeIdle()
		srv.Close()
		cancel()
		<-done
	}}
}

// BenchmarkHTTPExecute runs the command mix through the HTTP API on a
// loopback socket, client included, over an in-memory store: compared with
// BenchmarkExecute, what a command costs over HTTP beyond the ledger.
func BenchmarkHTTPExecute(b *testing.B) {
	r := newHTTPRig(b, 10)
	defer r.stop()
	c := newClient(1, r.models)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	for b.Loop() {
		cmd := c.next()
		if o, detail := r.drv.execute(ctx, cmd); o != accepted {
			b.Fatalf("command not accepted: %s", detail)
		}
		cmd.accepted()
	}
}

// BenchmarkHTTPExecuteParallel is BenchmarkHTTPExecute with 16 clients
// per CPU, each owning two tenants, as the command runs drive the API: the
// wake-ups a lone client pays for every answer are shared, so cpu-ns/op is
// nearer what a command costs the benchmark's HTTP run.
func BenchmarkHTTPExecuteParallel(b *testing.B) {
	benchParallel(b, func(r *httpRig) driver { return r.drv })
}

// BenchmarkExecuteParallel is BenchmarkHTTPExecuteParallel calling the
// command service in process, with the same projector following the
// store: the difference between the two is what HTTP costs per command.
func BenchmarkExecuteParallel(b *testing.B) {
	benchParallel(b, func(r *httpRig) driver { return inProcess{svc: r.svc} })
}

// benchParallel drives the mix through the rig's driver that via picks,
// from 16 clients per CPU, each owning two tenants.
func benchParallel(b *testing.B, via func(*httpRig) driver) {
	const perCPU = 16
	r := newHTTPRig(b, 2*perCPU*runtime.GOMAXPROCS(0))
	defer r.stop()
	d := via(r)
	var next atomic.Int64
	ctx := context.Background()
	b.SetParallelism(perCPU)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) - 1
		c := newClient(uint64(i+1), r.models[2*i%len(r.models):2*i%len(r.models)+2])
		for pb.Next() {
			cmd := c.next()
			if o, detail := d.execute(ctx, cmd); o != accepted {
				b.Errorf("command not accepted: %s", detail)
				return
			}
			cmd.accepted()
		}
	})
}

// BenchmarkHTTPQueries asks GET /licenses and GET /requests?status=pending
// of the tenants in turn, as the readers do, with nothing being written.
func BenchmarkHTTPQueries(b *testing.B) {
	r := newHTTPRig(b, 10)
	defer r.stop()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		m := r.models[i%len(r.models)]
		view := "licenses"
		if i%2 == 1 {
			view = "requests"
		}
		i++
		if _, err := get(ctx, r.drv.client, "/v1/tenants/"+m.id+"/"+view+queryOf[view], m.adminToken()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHTTPDriverHasTheMixAccepted sends the command mix through the lean
// client to the API, and queries: every command must be accepted with its
// answer checked, every query answered.
func TestHTTPDriverHasTheMixAccepted(t *testing.T) {
	r := newHTTPRig(t, 3)
	defer r.stop()
	c := newClient(1, r.models)
	ctx := context.Background()
	for range 300 {
		cmd := c.next()
		if o, detail := r.drv.execute(ctx, cmd); o != accepted {
			t.Fatalf("%T not accepted: %s", cmd.msg, detail)
		}
		cmd.accepted()
	}
	for _, m := range r.models {
		for view, query := range queryOf {
			if n, err := get(ctx, r.drv.client, "/v1/tenants/"+m.id+"/"+view+query, m.adminToken()); err != nil || n == 0 {
				t.Errorf("GET %s of %s: %d bytes, %v", view, m.id, n, err)
			}
		}
	}
	// A refusal is told as one, with the problem's code.
	cmd := c.next()
	cmd.token = "not-a-token"
	if o, detail := r.drv.execute(ctx, cmd); o != refused || detail == "" {
		t.Errorf("a command with a bad token: outcome %d, %q; want refused", o, detail)
	}
}
