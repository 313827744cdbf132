package consumer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/consumer"
	"github.com/licensing-ledger/ledger/internal/feedtest"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// seen is what handlers were called with, in order.
type seen struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func newSeen() *seen { return &seen{ch: make(chan struct{}, 1000)} }

func (s *seen) add(e *ledgerv1.Event) {
	s.mu.Lock()
	s.got = append(s.got, fmt.Sprintf("%s#%d %s", e.GetTenant(), e.GetSequence(), e.TypeName()))
	s.mu.Unlock()
	s.ch <- struct{}{}
}

// wait waits for n more handler calls and returns every call so far.
func (s *seen) wait(t *testing.T, n int) []string {
	t.Helper()
	for i := range n {
		select {
		case <-s.ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("handler call %d of %d did not come; got %v", i+1, n, s.list())
		}
	}
	return s.list()
}

func (s *seen) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// none checks that no handler call comes for a while.
func (s *seen) none(t *testing.T) {
	t.Helper()
	select {
	case <-s.ch:
		t.Fatalf("unexpected handler call; got %v", s.list())
	case <-time.After(300 * time.Millisecond):
	}
}

// run runs the consumer in the background until the returned stop is
// called, which returns Run's error.
func run(t *testing.T, f *feedtest.Feed, cfg consumer.Config, h *consumer.Handlers) (stop func() error) {
	stop, _ = runErr(t, f, cfg, h)
	return stop
}

// runErr is run that also returns the channel Run's error comes on if it
// returns by itself.
func runErr(t *testing.T, f *feedtest.Feed, cfg consumer.Config, h *consumer.Handlers) (stop func() error, errc chan error) {
	t.Helper()
	js, err := natsjs.New(f.Connect())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc = make(chan error, 1)
	go func() { errc <- consumer.Run(ctx, js, cfg, h) }()
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-errc:
			case <-time.After(10 * time.Second):
				result = errors.New("Run did not return")
			}
		})
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return stop, errc
}

func assigned(user string) *ledgerv1.LicenseAssigned {
	return &ledgerv1.LicenseAssigned{UserId: user, ProductId: "SPB"}
}

func TestTypedHandlersGetTheirEventsInStreamOrder(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", &ledgerv1.UserRegistered{UserId: "alice"}, assigned("alice"))
	f.Append("globex", &ledgerv1.SeatsChanged{SubscriptionId: "s1", Seats: 5})
	f.Append("acme", assigned("bob"))

	s := newSeen()
	var users []string
	var h consumer.Handlers
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
		users = append(users, p.GetUserId())
		s.add(e)
		return nil
	})
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.SeatsChanged) error {
		assert.Equal(t, int32(5), p.GetSeats())
		s.add(e)
		return nil
	})
	stop := run(t, f, consumer.Config{Durable: "typed"}, &h)
	assert.Equal(t, []string{"acme#2 LicenseAssigned", "globex#1 SeatsChanged", "acme#3 LicenseAssigned"}, s.wait(t, 3))
	assert.Equal(t, []string{"alice", "bob"}, users)
	s.none(t) // UserRegistered has no handler: the consumer does not even ask for it
	require.ErrorIs(t, stop(), context.Canceled)
}

func TestDefaultGetsEveryOtherEventAndTenantsFilter(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", &ledgerv1.UserRegistered{UserId: "alice"}, assigned("alice"))
	f.Append("globex", assigned("carol"))

	s := newSeen()
	h := consumer.Handlers{Default: func(_ context.Context, e *ledgerv1.Event) error { s.add(e); return nil }}
	run(t, f, consumer.Config{Durable: "acme-only", Tenants: []string{"acme"}}, &h)
	assert.Equal(t, []string{"acme#1 UserRegistered", "acme#2 LicenseAssigned"}, s.wait(t, 2))
	s.none(t)
}

// TestAFailedEventComesAgainBeforeAnyLaterOne: a handler's error makes the
// event come again, and no later event of the stream is handled before it
// succeeds, so each tenant's order holds across redeliveries.
func TestAFailedEventComesAgainBeforeAnyLaterOne(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", assigned("a1"), assigned("a2"))
	f.Append("acme", assigned("a3"))

	s := newSeen()
	failures := 0
	var h consumer.Handlers
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
		if p.GetUserId() == "a2" && failures < 2 {
			failures++
			return errors.New("the mail server is down")
		}
		s.add(e)
		return nil
	})
	run(t, f, consumer.Config{Durable: "retry"}, &h)
	assert.Equal(t, []string{"acme#1 LicenseAssigned", "acme#2 LicenseAssigned", "acme#3 LicenseAssigned"}, s.wait(t, 3))
	assert.Equal(t, 2, failures)
}

// TestResumesAfterTheLastEventAcknowledged stops a consumer and starts it
// again under the same durable name: it gets only what came since.
func TestResumesAfterTheLastEventAcknowledged(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", assigned("a1"), assigned("a2"))
	s := newSeen()
	h := consumer.Handlers{Default: func(_ context.Context, e *ledgerv1.Event) error { s.add(e); return nil }}
	stop := run(t, f, consumer.Config{Durable: "mailer"}, &h)
	s.wait(t, 2)
	require.ErrorIs(t, stop(), context.Canceled)

	f.Append("acme", assigned("a3"))
	run(t, f, consumer.Config{Durable: "mailer", StartSequence: 1}, &h) // a start applies to new consumers only
	assert.Equal(t, []string{"acme#1 LicenseAssigned", "acme#2 LicenseAssigned", "acme#3 LicenseAssigned"}, s.wait(t, 1))
	s.none(t)
}

func TestANewConsumerStartsAtASequenceOrATime(t *testing.T) {
	f := feedtest.Start(t)
	f.Append("acme", assigned("a1"), assigned("a2"))
	time.Sleep(20 * time.Millisecond)
	since := time.Now()
	f.Append("acme", assigned("a3"))

	bySeq, byTime := newSeen(), newSeen()
	run(t, f, consumer.Config{Durable: "from-seq", StartSequence: 2}, &consumer.Handlers{Default: func(_ context.Context, e *ledgerv1.Event) error { bySeq.add(e); return nil }})
	run(t, f, consumer.Config{Durable: "from-time", StartTime: since}, &consumer.Handlers{Default: func(_ context.Context, e *ledgerv1.Event) error { byTime.add(e); return nil }})
	assert.Equal(t, []string{"acme#2 LicenseAssigned", "acme#3 LicenseAssigned"}, bySeq.wait(t, 2))
	assert.Equal(t, []string{"acme#3 LicenseAssigned"}, byTime.wait(t, 1))
}

func TestAMessageThatIsNoEventStopsRun(t *testing.T) {
	f := feedtest.Start(t)
	nc, err := nats.Connect("", nats.InProcessServer(f.Server))
	require.NoError(t, err)
	defer nc.Close()
	f.Append("acme", assigned("a1"))
	msg := nats.NewMsg("ledger-in.acme.LicenseAssigned")
	msg.Header.Set(natsjs.MsgIDHeader, "not-an-event")
	msg.Data = []byte("junk")
	require.NoError(t, nc.PublishMsg(msg))

	s := newSeen()
	_, errc := runErr(t, f, consumer.Config{Durable: "strict"}, &consumer.Handlers{Default: func(_ context.Context, e *ledgerv1.Event) error { s.add(e); return nil }})
	s.wait(t, 1)
	select {
	case err := <-errc:
		require.ErrorIs(t, err, consumer.ErrUndecodable)
		errc <- err // for stop
	case <-time.After(5 * time.Second):
		t.Fatal("Run went on past a message that is no event")
	}
}

func TestRunRefusesNoHandlersAndNoName(t *testing.T) {
	f := feedtest.Start(t)
	js, err := natsjs.New(f.Connect())
	require.NoError(t, err)
	err = consumer.Run(t.Context(), js, consumer.Config{Durable: "idle"}, &consumer.Handlers{})
	require.ErrorContains(t, err, "no handlers")
	err = consumer.Run(t.Context(), js, consumer.Config{}, &consumer.Handlers{Default: func(context.Context, *ledgerv1.Event) error { return nil }})
	require.ErrorContains(t, err, "Durable is required")
}

func TestOnRefusesAMessageThatIsNoEventPayload(t *testing.T) {
	assert.Panics(t, func() {
		consumer.On(&consumer.Handlers{}, func(context.Context, *ledgerv1.Event, *ledgerv1.Event) error { return nil })
	})
}

func TestSubjects(t *testing.T) {
	got, err := consumer.Subjects([]string{"acme", "globex"}, []string{"LicenseAssigned"})
	require.NoError(t, err)
	assert.Equal(t, []string{"ledger.acme.LicenseAssigned", "ledger.globex.LicenseAssigned"}, got)
	got, err = consumer.Subjects(nil, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"ledger.*.*"}, got)
	_, err = consumer.Subjects([]string{"a.b"}, nil)
	require.Error(t, err)
	_, err = consumer.Subjects(nil, []string{"NoSuchEvent"})
	require.Error(t, err)
}
