package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/internal/feedtest"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// syncBuffer is a buffer written by the mailer and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSpace(b.buf.String()), "\n")
}

func TestMailerMailsAboutLicensesAndRequests(t *testing.T) {
	f := feedtest.Start(t)
	evs := f.Append("contoso",
		&ledgerv1.UserRegistered{UserId: "alice"},
		&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB"},
		&ledgerv1.RequestOutcomeNotified{UserId: "bob", RequestId: "r1", ProductId: "VISIO", Outcome: ledgerv1.RequestOutcome_REQUEST_OUTCOME_APPROVED})
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, f.URL, "mailer", &out) }()
	require.Eventually(t, func() bool { return len(out.lines()) == 2 }, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	assert.Equal(t, []string{
		"to alice@contoso (event " + evs[1].GetId() + "): You now have SPB.",
		"to bob@contoso (event " + evs[2].GetId() + "): Your request r1 for VISIO: REQUEST_OUTCOME_APPROVED.",
	}, out.lines())
}
