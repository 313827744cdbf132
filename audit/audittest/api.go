package audittest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/checkpoint"
	"github.com/licensing-ledger/ledger/checkpoint/checkpointtest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/auth"
	"github.com/licensing-ledger/ledger/infra/httpapi"
	"github.com/licensing-ledger/ledger/ledger"
	"github.com/licensing-ledger/ledger/projections"
)

// Tokens of the principals the test API knows, all of tenant "contoso"
// but the partner's agent.
const (
	AdminToken        = "admin-token-0123456789"   // admin@contoso, GlobalAdministrator
	ReaderToken       = "reader-token-0123456789"  // auditor@contoso, GlobalReader
	LicenseAdminToken = "licadm-token-0123456789"  // licadm@contoso, LicenseAdministrator
	AliceToken        = "alice-token-0123456789"   // alice, no role
	PartnerToken      = "partner-token-0123456789" // agent@fabrikam, AdminAgent of partner fabrikam
)

// API is the real HTTP API serving the story's tenant.
type API struct {
	*httptest.Server
	Scenario *Scenario
	Marks    []Checkpoint
	// Issuer signs the tenant's checkpoints over the events as written;
	// Log keeps them.
	Issuer *checkpoint.Issuer
	Log    *checkpointtest.MemLog
}

// StartAPI plays the story in tenant "contoso" and serves it through the
// real HTTP API, its read models caught up. The audit routes read the
// scenario's store, or what audited makes of it when audited is not nil.
func StartAPI(t testing.TB, audited func(*MemStore) events.Store) *API {
	t.Helper()
	s := NewScenario("contoso", StoryStart)
	marks := Story(t, s, nil)
	var store events.Store = s.Store
	if audited != nil {
		store = audited(s.Store)
	}
	iss, log := StartIssuer(t, s.Store)
	return &API{Server: ServeSigned(t, s.Service, s.Store, store, iss), Scenario: s, Marks: marks, Issuer: iss, Log: log}
}

// Serve serves the API for the command service over written, its read
// models following written and its audit routes reading audited.
func Serve(t testing.TB, svc *ledger.Service, written, audited events.Store) *httptest.Server {
	t.Helper()
	return ServeSigned(t, svc, written, audited, nil)
}

// ServeSigned is Serve with the checkpoint routes of iss, if not nil.
func ServeSigned(t testing.TB, svc *ledger.Service, written, audited events.Store, iss *checkpoint.Issuer) *httptest.Server {
	t.Helper()
	log := quiet()
	lic, req := projections.NewLicenses(catalog.Default()), projections.NewRequests(time.Now)
	dir, feed := projections.NewDirectory(), projections.NewFeed()
	proj := projections.NewProjector(written, log, lic, req, dir, feed)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = proj.Run(ctx) }()
	if err := proj.WaitCaughtUp(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Service: svc, Projector: proj, Licenses: lic, Requests: req, Auth: principals(t), Logger: log, Store: audited, Directory: dir, Feed: feed}
	if iss != nil {
		cfg.Checkpoints = iss
	}
	h := httpapi.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func principals(t testing.TB) *auth.Authenticator {
	a, err := auth.New(auth.File{Principals: []auth.Entry{
		{ID: "admin@contoso", Tenant: "contoso", Roles: []string{"GlobalAdministrator"}, Token: AdminToken},
		{ID: "auditor@contoso", Tenant: "contoso", Roles: []string{"GlobalReader"}, Token: ReaderToken},
		{ID: "licadm@contoso", Tenant: "contoso", Roles: []string{"LicenseAdministrator"}, Token: LicenseAdminToken},
		{ID: "alice", Tenant: "contoso", Token: AliceToken},
		{ID: "agent@fabrikam", Partner: "fabrikam", Roles: []string{"AdminAgent"}, Token: PartnerToken},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
