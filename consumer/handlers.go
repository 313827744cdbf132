package consumer

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// Handlers routes each event to the function registered for its type. The
// zero value handles nothing: events without a handler are acknowledged and
// skipped, unless Default is set. Register with On before Run starts;
// Handlers is not safe for registration while running.
type Handlers struct {
	byType map[string]func(context.Context, *ledgerv1.Event) error
	// Default, when set, gets every event no On handler takes: other
	// types, and events of a newer release whose payload this one cannot
	// read (e.PayloadMessage() is nil, e.TypeName() is "").
	Default func(ctx context.Context, e *ledgerv1.Event) error
}

// On registers fn for the events whose payload is a P, such as
// *ledgerv1.LicenseAssigned: fn gets the whole event (its envelope: tenant,
// sequence, time, actor, ...) and the payload already typed. A second
// registration for the same type replaces the first.
//
//	consumer.On(&h, func(ctx context.Context, e *ledgerv1.Event, p *ledgerv1.LicenseAssigned) error {
//		return mailer.Welcome(ctx, e.GetTenant(), p.GetUserId(), p.GetProductId())
//	})
func On[P proto.Message](h *Handlers, fn func(ctx context.Context, e *ledgerv1.Event, p P) error) {
	var zero P
	name := string(zero.ProtoReflect().Descriptor().Name())
	if !ledgerv1.IsEventType(name) {
		panic(fmt.Sprintf("consumer.On: %s is not a ledger event payload", name))
	}
	if h.byType == nil {
		h.byType = make(map[string]func(context.Context, *ledgerv1.Event) error)
	}
	h.byType[name] = func(ctx context.Context, e *ledgerv1.Event) error {
		p, _ := e.PayloadMessage().(P)
		return fn(ctx, e, p)
	}
}

// handle calls the handler of e's type, or Default, or nothing.
func (h *Handlers) handle(ctx context.Context, e *ledgerv1.Event) error {
	if fn, ok := h.byType[e.TypeName()]; ok {
		return fn(ctx, e)
	}
	if h.Default != nil {
		return h.Default(ctx, e)
	}
	return nil
}

// types lists the event types with a handler; nil when Default is set,
// since then every type is wanted.
func (h *Handlers) types() []string {
	if h.Default != nil {
		return nil
	}
	out := make([]string, 0, len(h.byType))
	for name := range h.byType {
		out = append(out, name)
	}
	return out
}
