package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/licensing-ledger/ledger/internal/backoff"
)

func TestDelaysDoubleUpToMaxAndResetOnProgress(t *testing.T) {
	var b backoff.Backoff
	var got []time.Duration
	for _, progressed := range []bool{false, false, false, false, false, false, false, false, true, false} {
		got = append(got, b.Next(progressed))
	}
	ms := time.Millisecond
	assert.Equal(t, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms, 100 * ms, 200 * ms}, got)
}

func TestFixedDelay(t *testing.T) {
	b := backoff.Backoff{Min: 500 * time.Millisecond, Max: 500 * time.Millisecond}
	for range 3 {
		assert.Equal(t, 500*time.Millisecond, b.Next(false))
	}
}

func TestAMinAboveTheDefaultMaxKeepsMin(t *testing.T) {
	b := backoff.Backoff{Min: 10 * time.Second}
	assert.Equal(t, 10*time.Second, b.Next(false))
	assert.Equal(t, 10*time.Second, b.Next(false))
}

func TestSleepEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.False(t, backoff.Sleep(ctx, time.Hour))
	assert.True(t, backoff.Sleep(context.Background(), time.Millisecond))
}
