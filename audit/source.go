package audit

import (
	"context"
	"errors"

	"github.com/licensing-ledger/ledger/events"
)

// Source yields one tenant's stored records in order, calling fn for each,
// and returns fn's first error. Sources are the event store (StoreSource)
// and export files (DecoderSource).
type Source func(fn func(events.Record) error) error

// Reader is the part of events.Store a Source needs.
type Reader interface {
	Read(ctx context.Context, tenant string, after events.Cursor, fn func(events.Record) error) error
}

// StoreSource reads the tenant's stream from the first event.
func StoreSource(ctx context.Context, store Reader, tenant string) Source {
	return func(fn func(events.Record) error) error {
		return store.Read(ctx, tenant, events.Cursor{}, fn)
	}
}

// RecordsSource yields records held in memory.
func RecordsSource(recs []events.Record) Source {
	return func(fn func(events.Record) error) error {
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	}
}

// WithProgress calls progress with the number of records read so far after
// every `every` records, and once at the end, so that long runs show how far
// they are.
func WithProgress(src Source, every int, progress func(n int)) Source {
	return func(fn func(events.Record) error) error {
		n := 0
		err := src(func(r events.Record) error {
			n++
			if n%every == 0 {
				progress(n)
			}
			return fn(r)
		})
		progress(n)
		return err
	}
}

// errStop ends a replay early; it never leaves the package.
var errStop = errors.New("audit: stop")

// each calls fn for each record of src; fn may return errStop to end early.
func each(src Source, fn func(events.Record) error) error {
	if err := src(fn); err != nil && !errors.Is(err, errStop) {
		return err
	}
	return nil
}
