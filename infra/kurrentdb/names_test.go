package kurrentdb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/kurrentdb"
	"github.com/licensing-ledger/ledger/infra/kurrentdb/kurrentdbtest"
)

func TestEachTenantIsTheStreamLedgerDashTenant(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	for _, tenant := range []string{"acme", "Acme-2", "société_générale", "ledger-x"} {
		_, err := store.Append(testContext(t), tenant, events.Cursor{}, newRecords(tenant, events.Cursor{}, 1))
		require.NoError(t, err, tenant)
		assert.Len(t, readRaw(t, rawClient(t, srv), "ledger-"+tenant), 1, tenant)
	}
}

func TestStreamPrefixSeparatesLedgersSharingANode(t *testing.T) {
	srv := kurrentdbtest.Start(t)
	store := open(t, srv.ConnectionString())
	defer store.Close()
	other := open(t, srv.ConnectionString(), kurrentdb.WithStreamPrefix("staging-ledger-"))
	defer other.Close()
	_, err := other.Append(testContext(t), "acme", events.Cursor{}, newRecords("acme", events.Cursor{}, 2))
	require.NoError(t, err)

	assert.Len(t, readRaw(t, rawClient(t, srv), "staging-ledger-acme"), 2)
	head, err := store.Head(testContext(t))
	require.NoError(t, err)
	assert.Zero(t, head, "the default ledger sees none of the other's events")
	err = store.Read(testContext(t), "acme", events.Cursor{}, func(events.Record) error {
		t.Error("read another ledger's record")
		return nil
	})
	require.NoError(t, err)
}

func TestInvalidStreamPrefixesAreRefused(t *testing.T) {
	for _, prefix := range []string{"", "$ledger-", "led.ger-", "ledger -"} {
		_, err := kurrentdb.Open(context.Background(), "esdb://127.0.0.1:1?tls=false", kurrentdb.WithStreamPrefix(prefix))
		assert.ErrorContains(t, err, "invalid stream prefix", "prefix %q", prefix)
	}
}

func TestTenantsMustBeOneSubjectToken(t *testing.T) {
	store := open(t, kurrentdbtest.Start(t).ConnectionString())
	defer store.Close()
	for _, tenant := range []string{"", "a.b", "a*", "a>", "a b", "a\u00a0b", "a\x7fb"} {
		_, err := store.Append(testContext(t), tenant, events.Cursor{}, newRecords(tenant, events.Cursor{}, 1))
		assert.ErrorIs(t, err, kurrentdb.ErrInvalidTenant, "tenant %q", tenant)
		err = store.Read(testContext(t), tenant, events.Cursor{}, func(events.Record) error { return nil })
		assert.ErrorIs(t, err, kurrentdb.ErrInvalidTenant, "tenant %q", tenant)
	}
}
