package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
	"google.golang.org/protobuf/proto"
)

// handlerRig is the API's handler over an in-memory store, called without
// a socket: what the handler itself costs per command, apart from net/http
// and the command service (compare BenchmarkCommandHandler with
// BenchmarkCommandService, which runs the same commands in process).
type handlerRig struct {
	h     http.Handler
	svc   *ledger.Service
	admin domain.Principal
}

const benchUsers = 20

func newHandlerRig(b *testing.B) *handlerRig {
	b.Helper()
	store := audittest.NewMemStore()
	log := slog.New(slog.DiscardHandler)
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	proj := projections.NewProjector(store, log, lic, req)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go func() { _ = proj.Run(ctx) }()
	if err := proj.WaitCaughtUp(ctx); err != nil {
		b.Fatal(err)
	}
	svc := ledger.New(store, ledger.Options{Logger: log, Committed: proj.ApplyCommitted})
	authn, err := auth.New(auth.File{Principals: []auth.Entry{{ID: "admin@contoso", Tenant: tenant, Roles: []string{"GlobalAdministrator"}, Token: adminToken}}})
	if err != nil {
		b.Fatal(err)
	}
	p, _ := authn.Authenticate(adminToken)
	r := &handlerRig{h: httpapi.New(httpapi.Config{Service: svc, Projector: proj, Licenses: lic, Requests: req, Auth: authn, Logger: log, Store: store}), svc: svc, admin: p}
	for i := range benchUsers {
		r.mustServe(b, "RegisterUser", fmt.Sprintf(`{"userId":"u%02d","displayName":"User %d","usageLocation":"FR"}`, i, i))
	}
	r.mustServe(b, "PurchaseSubscription", `{"subscriptionId":"s1","productId":"POWER_BI_PRO","seats":100}`)
	return r
}

func (r *handlerRig) mustServe(b *testing.B, command, body string) {
	w := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/v1/tenants/"+tenant+"/commands/"+command, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	r.h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", command, body, w.Code, w.Body)
	}
}

// benchCommands alternates assigning and revoking licenses, one user at
// a time and five at once: every command is accepted.
func benchCommands() (names, bodies []string) {
	for i := range benchUsers / 5 {
		one := fmt.Sprintf(`{"productId":"POWER_BI_PRO","userIds":["u%02d"]}`, i)
		five := `{"productId":"POWER_BI_PRO","userIds":[`
		for j := range 5 {
			if j > 0 {
				five += ","
			}
			five += fmt.Sprintf(`"u%02d"`, 5*i+j)
		}
		five += "]}"
		names = append(names, "AssignLicense", "RevokeAssignment", "AssignLicense", "RevokeAssignment")
		bodies = append(bodies, one, one, five, five)
	}
	return names, bodies
}

// benchWriter is a ResponseWriter that keeps nothing.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkCommandHandler serves commands through the whole handler
// (token, path, body, decoding, the service, the answer).
func BenchmarkCommandHandler(b *testing.B) {
	r := newHandlerRig(b)
	names, bodies := benchCommands()
	reqs := make([]*http.Request, len(names))
	for i := range names {
		reqs[i] = httptest.NewRequest(http.MethodPost, "/v1/tenants/"+tenant+"/commands/"+names[i], nil)
		reqs[i].Header.Set("Authorization", "Bearer "+adminToken)
		reqs[i].Header.Set("Content-Type", "application/json")
		reqs[i].ContentLength = int64(len(bodies[i]))
	}
	w := &benchWriter{h: http.Header{}}
	var body bytes.Reader
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		req := *reqs[i%len(reqs)]
		body.Reset([]byte(bodies[i%len(bodies)]))
		req.Body = io.NopCloser(&body)
		req.Header.Set("Idempotency-Key", "k"+strconv.Itoa(i))
		clear(w.h)
		r.h.ServeHTTP(w, &req)
		if w.status != http.StatusOK {
			b.Fatalf("%s: status %d", names[i%len(names)], w.status)
		}
		i++
	}
}

// BenchmarkCommandService executes BenchmarkCommandHandler's commands,
// decoded beforehand, in process.
func BenchmarkCommandService(b *testing.B) {
	r := newHandlerRig(b)
	names, bodies := benchCommands()
	msgs := make([]proto.Message, len(names))
	for i := range names {
		msgs[i], _ = domain.NewCommand(names[i])
		if err := httpapi.DecodeCommand([]byte(bodies[i]), msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	defer reportCPU(b, cpuTime())
	i := 0
	for b.Loop() {
		if _, err := r.svc.Execute(ctx, ledger.Command{Tenant: tenant, Message: msgs[i%len(msgs)], ID: "k" + strconv.Itoa(i), Principal: r.admin}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// reportCPU reports the process's CPU time per operation since start: on
// a machine other processes share, it moves less than the time per
// operation does.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
