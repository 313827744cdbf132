// Package consumer is the kit for services downstream of the licensing
// ledger: it reads the ledger's events from the NATS JetStream stream
// LEDGER with a durable consumer, decodes each into a ledger.v1.Event, and
// hands it to a handler typed by event type.
//
//	go get github.com/licensing-ledger/ledger/consumer
//
// (the module must be published at that path for go get to find it; until
// then, vendor it or use a replace directive.)
//
// A service registers its handlers and runs:
//
//	var h consumer.Handlers
//	consumer.On(&h, func(ctx context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
//		return welcome(ctx, e.GetTenant(), p.GetUserId(), p.GetProductId())
//	})
//	js, _ := jetstream.New(nc)
//	err := consumer.Run(ctx, js, consumer.Config{Durable: "mailer"}, &h)
//
// What Run guarantees, and why:
//
//   - Binding by name. It binds to the stream LEDGER by name and filters
//     on the stored subjects ledger.<tenant>.<Type>; the stream's own
//     subjects are input subjects that JetStream transforms, so a lookup
//     of the stream by subject would find nothing.
//   - Every event decoded, typed. A handler gets the envelope (tenant,
//     sequence, time, actor, command) and the payload as its Go type.
//     Handlers.Default takes every other type, and events of newer
//     releases whose payload this release cannot read.
//   - Order within a tenant, across redeliveries. The durable consumer
//     allows one unacknowledged message (MaxAckPending 1): when a handler
//     fails, the same event comes again, after a backoff, before anything
//     later. With more messages in flight a redelivered event would come
//     after its tenant's later events. One message at a time costs one
//     round trip per event; to go faster, run several consumers, each on
//     its own tenants (Config.Tenants).
//   - Acknowledged after the handler. An event is acknowledged only once
//     its handler returned nil, so a crash never loses one.
//   - Duplicates dropped. An event whose tenant sequence is at or below
//     the last one handled for its tenant in this run (a delivery again
//     after a late or lost ack) is acknowledged without calling the
//     handler. The tenant sequence identifies an event as its id does, and
//     needs one number per tenant instead of a window of ids. After a
//     restart, the one event in flight at the crash may come again:
//     handlers must tolerate it (by event id).
//   - Resume position. The server keeps the consumer's position under its
//     durable name; a new consumer starts at the first event, or at
//     Config.StartSequence or Config.StartTime. When Run stops (ctx ends),
//     it hands back at once any event it received and did not handle, so
//     the next Run gets it without delay; after a crash, the event that
//     was in flight comes again once Config.AckWait has passed.
//
// For a quick look at the feed, without durable state, use
// `ledgerctl tail`. The events, subjects and headers are described in the
// ledger's docs/EVENTS.md.
package consumer
