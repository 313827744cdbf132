// Command mailer is an example downstream service of the licensing ledger,
// built on the consumer kit: it tells users when they get a license, lose
// one, or learn the outcome of their request. It "sends" each mail by
// printing it; a real service would call its mail provider.
//
//	go run ./examples/mailer --nats nats://127.0.0.1:4222
//
// Its durable consumer, "mailer", keeps its position on the server: stop it
// and start it again, and it goes on after the last event it mailed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/licensing-ledger/ledger/consumer"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

func main() {
	url := flag.String("nats", nats.DefaultURL, "NATS server of the ledger")
	durable := flag.String("durable", "mailer", "name of the durable consumer that keeps this service's position")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *url, *durable, os.Stdout); err != nil && ctx.Err() == nil {
		slog.Error("mailer stopped", "err", err)
		os.Exit(1)
	}
}

// run consumes the ledger's events until ctx ends, writing one mail a line
// to out.
func run(ctx context.Context, url, durable string, out io.Writer) error {
	nc, err := nats.Connect(url, nats.Name("mailer"), nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	return consumer.Run(ctx, js, consumer.Config{Durable: durable}, handlers(out))
}

// handlers are the mailer's: one function per event type it mails about.
// Each is safe to run twice for one event (a crash between the mail and
// the ack): a real mailer would pass the event id to its provider as the
// idempotency key.
func handlers(out io.Writer) *consumer.Handlers {
	var h consumer.Handlers
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
		return mail(out, e, p.GetUserId(), "You now have %s.", p.GetProductId())
	})
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseRemoved) error {
		if p.GetDataRetainedUntil() == nil {
			return nil // another path still grants the product
		}
		return mail(out, e, p.GetUserId(), "You no longer have %s; your data is kept until %s.",
			p.GetProductId(), p.GetDataRetainedUntil().AsTime().Format("2 January 2006"))
	})
	consumer.On(&h, func(_ context.Context, e *ledgerv1.Event, p *ledgerv1.RequestOutcomeNotified) error {
		return mail(out, e, p.GetUserId(), "Your request %s for %s: %s.", p.GetRequestId(), p.GetProductId(), p.GetOutcome())
	})
	return &h
}

// mail "sends" one mail: a line naming the event it is about.
func mail(out io.Writer, e *ledgerv1.Event, user, format string, args ...any) error {
	_, err := fmt.Fprintf(out, "to %s@%s (event %s): %s\n", user, e.GetTenant(), e.GetId(), fmt.Sprintf(format, args...))
	return err
}
