package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/licensing-ledger/ledger/events"
)

// ErrInvalidRecord is returned by Append for records it cannot store: an
// ID that is not a ULID, a type that is not one subject token (the rule
// for tenant ids), a tenant other than the stream's, or sequences that do
// not follow the expected cursor.
var ErrInvalidRecord = errors.New("kurrentdb: invalid record")

// ErrAccessDenied is returned by Open, and by calls, when KurrentDB refuses
// the connection's user: unknown, a wrong password, or without a right the
// ledger needs. Retrying does not help; the error names the user and the
// right.
var ErrAccessDenied = errors.New("kurrentdb: access denied")

// errorCode returns the esdb error code of err. The client wraps its
// errors in context at some call sites, which esdb.FromError does not look
// through, so this unwraps.
func errorCode(err error) (esdb.ErrorCode, bool) {
	var esErr *esdb.Error
	if !errors.As(err, &esErr) {
		return esdb.ErrorCodeUnknown, false
	}
	return esErr.Code(), true
}

func hasCode(err error, code esdb.ErrorCode) bool {
	got, ok := errorCode(err)
	return ok && got == code
}

// failure turns an error of a client call into the store's error: the
// context's error if the caller cancelled, events.ErrUnavailable with it if
// the deadline passed (a time out leaves an append's outcome unknown),
// ErrAccessDenied for refused credentials or permissions and
// events.ErrDamaged for a deleted stream (retrying won't help either), and
// events.ErrUnavailable for everything else that went wrong with the node
// or the connection.
func (s *Store) failure(ctx context.Context, client *esdb.Client, op string, err error) error {
	switch ctxErr := ctx.Err(); {
	case errors.Is(ctxErr, context.DeadlineExceeded):
		return fmt.Errorf("kurrentdb: %s: %w: %w", op, events.ErrUnavailable, ctxErr)
	case ctxErr != nil:
		return fmt.Errorf("kurrentdb: %s: %w", op, ctxErr)
	}
	code, _ := errorCode(err)
	switch code {
	case esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated:
		return fmt.Errorf("kurrentdb: %s: %w (user %q): %w", op, ErrAccessDenied, s.user, err)
	case esdb.ErrorCodeStreamDeleted:
		return fmt.Errorf("kurrentdb: %s: %w: the stream was deleted for good (tombstoned) in KurrentDB; restore the tenant's history from a backup: %w", op, events.ErrDamaged, err)
	case esdb.ErrorCodeConnectionClosed:
		s.renew(client)
	}
	return fmt.Errorf("kurrentdb: %s: %w: %w", op, events.ErrUnavailable, err)
}

// permanent reports whether an error won't go away by retrying.
func permanent(err error) bool {
	return hasCode(err, esdb.ErrorCodeAccessDenied) || hasCode(err, esdb.ErrorCodeUnauthenticated)
}

// tooLarge reports whether the node refused an append for exceeding its
// MaxAppendSize. The client has no code for it (ErrorCodeUnknown); the
// gRPC status says so when the refusal arrives after the whole append was
// sent, which is why the store checks the size before sending.
func tooLarge(err error) bool {
	st, ok := status.FromError(err) // it looks through the wrapping
	return ok && st.Code() == codes.InvalidArgument && strings.Contains(st.Message(), "Maximum Append Size")
}
