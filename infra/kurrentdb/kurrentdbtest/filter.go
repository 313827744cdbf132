package kurrentdbtest

import (
	"regexp"
	"strings"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// eventFilter is the server-side filter of a $all read or subscription: on
// the stream name or on the event type, by prefixes or by a regex.
type eventFilter struct {
	onStreamName bool
	prefixes     []string
	regex        *regexp.Regexp
}

// filterOf returns the filter the read asks for, or nil for none.
func filterOf(options *streams.ReadReq_Options) (*eventFilter, error) {
	spec := options.GetFilter()
	if spec == nil {
		return nil, nil
	}
	expr, onStreamName := spec.GetEventType(), false
	if spec.GetStreamIdentifier() != nil {
		expr, onStreamName = spec.GetStreamIdentifier(), true
	}
	if expr == nil {
		return nil, status.Error(codes.InvalidArgument, "the filter needs a stream identifier or an event type expression")
	}
	f := &eventFilter{onStreamName: onStreamName, prefixes: expr.GetPrefix()}
	if expr.GetRegex() != "" {
		re, err := regexp.Compile(expr.GetRegex())
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "invalid filter regex: %v", err)
		}
		f.regex = re
	}
	return f, nil
}

// matches reports whether the filter lets the event through; a nil filter
// lets everything through.
func (f *eventFilter) matches(ev *recordedEvent) bool {
	if f == nil {
		return true
	}
	subject := ev.eventType
	if f.onStreamName {
		subject = ev.stream
	}
	if f.regex != nil {
		return f.regex.MatchString(subject)
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(subject, p) {
			return true
		}
	}
	return false
}
