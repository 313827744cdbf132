package audittest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	"google.golang.org/protobuf/proto"
)

// Scenario drives the real command service over a MemStore with a clock the
// test moves, and deterministic command ids, so that the same scenario
// writes the same events, byte for byte, every time it is played.
type Scenario struct {
	Store   *MemStore
	Service *ledger.Service
	Tenant  string

	mu    sync.Mutex
	clock time.Time
	n     int
}

// NewScenario returns a scenario of the tenant whose clock starts at start.
func NewScenario(tenant string, start time.Time) *Scenario {
	s := &Scenario{Store: NewMemStore(), Tenant: tenant, clock: start.UTC()}
	s.Service = ledger.New(s.Store, ledger.Options{Now: s.Now, Logger: quiet()})
	return s
}

// NewService returns a command service over the store, with the real clock.
func NewService(store events.Store) *ledger.Service {
	return ledger.New(store, ledger.Options{Logger: quiet()})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Now returns the scenario's clock.
func (s *Scenario) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// Advance moves the clock forward.
func (s *Scenario) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = s.clock.Add(d)
}

// Admin is a Global Administrator of the scenario's tenant.
func (s *Scenario) Admin() domain.Principal {
	return domain.Principal{ID: "admin@" + s.Tenant, Tenant: s.Tenant, Roles: []domain.Role{domain.GlobalAdministrator}}
}

// User is an ordinary user of the scenario's tenant, without roles.
func (s *Scenario) User(id string) domain.Principal {
	return domain.Principal{ID: id, Tenant: s.Tenant}
}

// Try sends a command with the next command id; the clock then moves one
// second, so that each command's events have their own instant.
func (s *Scenario) Try(p domain.Principal, cmd proto.Message) (ledger.Result, error) {
	s.mu.Lock()
	s.n++
	id := fmt.Sprintf("cmd-%05d", s.n)
	s.mu.Unlock()
	res, err := s.Service.Execute(context.Background(), ledger.Command{Tenant: s.Tenant, Principal: p, Message: cmd, ID: id})
	s.Advance(time.Second)
	return res, err
}

// Run sends a command and fails the test unless it is accepted.
func (s *Scenario) Run(t testing.TB, p domain.Principal, cmd proto.Message) ledger.Result {
	t.Helper()
	res, err := s.Try(p, cmd)
	if err != nil {
		t.Fatalf("%s: %v", domain.CommandName(cmd), err)
	}
	return res
}
