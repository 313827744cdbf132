package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/licensing-ledger/ledger/consumer"
)

// tailFlags are ledgerctl tail's flags.
type tailFlags struct {
	url, creds, user string
	tlsCA            string
	tenants, types   commaListFlag
	fromSeq          uint64
	since            string
	follow           bool
	count            int
}

// runTail prints the ledger's events from the LEDGER stream, one
// ledger.v1.Event in protojson a line, through an ordered consumer that
// leaves no state on the server.
func runTail(ctx context.Context, args []string, e *env) error {
	f, err := parseTail(args, e)
	if err != nil {
		return err
	}
	cfg, err := f.consumerConfig(time.Now())
	if err != nil {
		return err
	}
	nc, err := nats.Connect(f.url, f.natsOptions(e)...)
	if err != nil {
		return fmt.Errorf("connect to NATS at %s: %w", f.url, err)
	}
	defer nc.Close()
	js, err := natsjs.New(nc)
	if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, consumer.StreamName, cfg)
	if err != nil {
		return fmt.Errorf("read the %s stream: %w", consumer.StreamName, err)
	}
	return f.print(ctx, cons, e.stdout)
}

func parseTail(args []string, e *env) (*tailFlags, error) {
	f := &tailFlags{}
	fs := flag.NewFlagSet("ledgerctl tail", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&f.url, "nats", envOr(e, "LEDGER_NATS", nats.DefaultURL), "NATS server of the ledger ($LEDGER_NATS)")
	fs.StringVar(&f.creds, "nats-creds", "", "NATS user credentials file (JWT and nkey seed)")
	fs.StringVar(&f.user, "nats-user", "", "NATS user name; the password is read from $LEDGER_NATS_PASSWORD")
	fs.StringVar(&f.tlsCA, "nats-tls-ca", "", "CA certificate file that signs the NATS server's certificate")
	fs.Var(&f.tenants, "tenant", "only this tenant (repeat it, or a comma list)")
	fs.Var(&f.types, "type", "only this event type, e.g. LicenseAssigned (repeat it, or a comma list)")
	fs.Uint64Var(&f.fromSeq, "from-seq", 0, "start at this LEDGER stream sequence")
	fs.StringVar(&f.since, "since", "", "start at the first event stored at or after this time: RFC 3339, or a duration back from now (90m)")
	fs.BoolVar(&f.follow, "follow", true, "wait for new events; --follow=false stops at the last event stored")
	fs.IntVar(&f.count, "count", 0, "stop after this many events (0: no limit)")
	rest, err := parse(fs, args)
	switch {
	case err != nil:
		return nil, err
	case len(rest) > 0:
		return nil, usagef("unexpected argument %q", rest[0])
	case f.fromSeq > 0 && f.since != "":
		return nil, usagef("give --from-seq or --since, not both")
	}
	return f, nil
}

func envOr(e *env, name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// consumerConfig is the ordered consumer reading what the flags ask for.
func (f *tailFlags) consumerConfig(now time.Time) (natsjs.OrderedConsumerConfig, error) {
	subjects, err := consumer.Subjects(f.tenants, f.types)
	if err != nil {
		return natsjs.OrderedConsumerConfig{}, usageError{err.Error()}
	}
	cfg := natsjs.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: natsjs.DeliverAllPolicy}
	switch {
	case f.fromSeq > 0:
		cfg.DeliverPolicy, cfg.OptStartSeq = natsjs.DeliverByStartSequencePolicy, f.fromSeq
	case f.since != "":
		start, err := parseSince(f.since, now)
		if err != nil {
			return cfg, err
		}
		cfg.DeliverPolicy, cfg.OptStartTime = natsjs.DeliverByStartTimePolicy, &start
	}
	return cfg, nil
}

// parseSince reads an RFC 3339 time or a duration back from now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usagef("--since %q is neither an RFC 3339 time nor a duration such as 90m", s)
}

func (f *tailFlags) natsOptions(e *env) []nats.Option {
	opts := []nats.Option{nats.Name("ledgerctl tail"), nats.MaxReconnects(-1)}
	if f.creds != "" {
		opts = append(opts, nats.UserCredentials(f.creds))
	}
	if f.user != "" {
		opts = append(opts, nats.UserInfo(f.user, e.getenv("LEDGER_NATS_PASSWORD")))
	}
	if f.tlsCA != "" {
		opts = append(opts, nats.RootCAs(f.tlsCA))
	}
	return opts
}

// print writes each event as a line until ctx ends, --count events are
// printed, or, without --follow, the last event that matched when it
// started is printed.
func (f *tailFlags) print(ctx context.Context, cons natsjs.Consumer, out io.Writer) error {
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("read the %s stream: %w", consumer.StreamName, err)
	}
	defer it.Stop()
	if !f.follow && nothingStored(ctx, cons) {
		return nil
	}
	for printed := 0; f.count == 0 || printed < f.count; printed++ {
		msg, err := it.Next(natsjs.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted: what was asked for is printed
			}
			return fmt.Errorf("read the %s stream: %w", consumer.StreamName, err)
		}
		if err := printEvent(out, msg); err != nil {
			return err
		}
		if meta, err := msg.Metadata(); !f.follow && err == nil && meta.NumPending == 0 {
			return nil
		}
	}
	return nil
}

// nothingStored reports whether no stored event matches: the consumer
// has delivered nothing and has nothing pending.
func nothingStored(ctx context.Context, cons natsjs.Consumer) bool {
	info, err := cons.Info(ctx)
	return err == nil && info.NumPending == 0 && info.Delivered.Consumer == 0
}

// printEvent writes one message's event as a compact protojson line.
func printEvent(out io.Writer, msg natsjs.Msg) error {
	ev, err := consumer.Decode(msg)
	if err != nil {
		return err
	}
	js, err := protojson.Marshal(ev)
	if err != nil {
		return fmt.Errorf("event %s as JSON: %w", ev.GetId(), err)
	}
	var line bytes.Buffer
	if err := json.Compact(&line, js); err != nil { // protojson varies its spacing on purpose
		return err
	}
	line.WriteByte('\n')
	_, err = out.Write(line.Bytes())
	return err
}
