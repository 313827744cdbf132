package ledger_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// damagingStore reads one tenant's history as a damaged disk would give
// it: spoil changes (or drops, returning false) the record of one sequence.
type damagingStore struct {
	events.Store
	tenant string
	seq    uint64
	spoil  func(*events.Record) bool
	reads  atomic.Int64
}

func (d *damagingStore) Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error {
	d.reads.Add(1)
	return d.Store.Read(ctx, tenant, after, func(r events.Record) error {
		if tenant == d.tenant && r.Sequence == d.seq && !d.spoil(&r) {
			return nil
		}
		return fn(r)
	})
}

// TestADamagedHistoryIsFoundOnceAndRefused: a tenant whose stored history
// has an event missing, altered or unreadable is refused with
// CodeDamaged naming the first bad event, for commands and queries alike;
// it is found once, logged once, and never read again; other tenants work.
func TestADamagedHistoryIsFoundOnceAndRefused(t *testing.T) {
	cases := map[string]struct {
		spoil   func(*events.Record) bool
		firstAt uint64
		reason  string
	}{
		"missing": {func(*events.Record) bool { return false }, 3, "sequence 4 where 3 was due"},
		"altered": {func(r *events.Record) bool {
			r.Data = bytes.Replace(r.Data, []byte("u2"), []byte("u9"), 1)
			return true
		}, 3, "does not chain"},
		"unreadable": {func(r *events.Record) bool { r.Data = []byte{0xff, 0xff}; return true }, 3, "does not decode"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := newBackend(t)
			seed(t, ledger.New(b.store, ledger.Options{}), 4, 5) // u0..u3 are events 1-4, the purchase 5
			other := &ledgerv1.RegisterUser{UserId: "x", UsageLocation: "US"}
			_, err := ledger.New(b.store, ledger.Options{}).Execute(context.Background(), ledger.Command{Tenant: "northwind", Principal: northwindAdmin, Message: other})
			require.NoError(t, err)

			store := &damagingStore{Store: b.store, tenant: "contoso", seq: 3, spoil: c.spoil}
			var logs bytes.Buffer
			svc := ledger.New(store, ledger.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			_, err = run(t, svc, "", admin, &ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"u0"}})
			require.Equal(t, domain.CodeDamaged, domain.ErrorCode(err), "%v", err)
			assert.Contains(t, err.Error(), "damaged at event 3")
			assert.Contains(t, err.Error(), c.reason)

			reads := store.reads.Load()
			_, err = run(t, svc, "", admin, &ledgerv1.RegisterUser{UserId: "y", UsageLocation: "US"})
			assert.Equal(t, domain.CodeDamaged, domain.ErrorCode(err))
			err = svc.Authorize(context.Background(), "contoso", admin, domain.QueryLicenses, "")
			assert.Equal(t, domain.CodeDamaged, domain.ErrorCode(err))
			assert.Equal(t, reads, store.reads.Load(), "a damaged tenant is not read again")
			assert.Equal(t, 1, strings.Count(logs.String(), "history is damaged"), "logged once: %s", logs.String())

			damaged := svc.Damaged()
			require.Len(t, damaged, 1)
			assert.Equal(t, "contoso", damaged[0].Tenant)
			assert.EqualValues(t, 3, damaged[0].Sequence)

			_, err = svc.Execute(context.Background(), ledger.Command{Tenant: "northwind", Principal: northwindAdmin, Message: &ledgerv1.RegisterUser{UserId: "z", UsageLocation: "US"}})
			assert.NoError(t, err, "other tenants keep working")
		})
	}
}

var northwindAdmin = domain.Principal{ID: "admin@northwind", Tenant: "northwind", Roles: []domain.Role{domain.GlobalAdministrator}}
