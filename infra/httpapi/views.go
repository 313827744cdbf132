package httpapi

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/licensing-ledger/ledger/projections"
)

// The two views an admin's pages ask for all the time, the Licenses page
// and the requests list, are written by hand: encoding/json spends about
// 7 µs reflecting over a typical Licenses page, several times what
// writing it costs. The bytes are encoding/json's (views_test.go compares
// them over random values of every field), and the answer types below
// still encode with encoding/json, which writeJSON uses if a view holds
// something the hand-written path does not handle.

// answerAppender is an answer that can append its own JSON encoding, the
// one encoding/json gives it with a final newline; ok is false when it
// cannot, and encoding/json is used instead.
type answerAppender interface {
	appendJSON(b []byte) (out []byte, ok bool)
}

// productsAnswer is the answer of GET /licenses: {"products","tenant"}.
type productsAnswer struct {
	Products []projections.ProductView `json:"products"`
	Tenant   string                    `json:"tenant"`
}

// requestsAnswer is the answer of GET /requests: {"requests","tenant"}.
type requestsAnswer struct {
	Requests []projections.RequestView `json:"requests"`
	Tenant   string                    `json:"tenant"`
}

func (a productsAnswer) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"products":`...)
	b = appendList(b, a.Products, appendProductView)
	b = append(b, `,"tenant":`...)
	b = appendString(b, a.Tenant)
	return append(b, "}\n"...), true
}

func appendProductView(b []byte, p *projections.ProductView) []byte {
	b = append(b, `{"productId":`...)
	b = appendString(b, p.ProductID)
	b = append(b, `,"name":`...)
	b = appendString(b, p.Name)
	b = append(b, `,"total":`...)
	b = strconv.AppendInt(b, int64(p.Total), 10)
	b = append(b, `,"assigned":`...)
	b = strconv.AppendInt(b, int64(p.Assigned), 10)
	b = append(b, `,"available":`...)
	b = strconv.AppendInt(b, int64(p.Available), 10)
	b = append(b, `,"subscriptions":`...)
	b = appendList(b, p.Subscriptions, appendSubscriptionView)
	return append(b, '}')
}

func appendSubscriptionView(b []byte, s *projections.SubscriptionView) []byte {
	b = append(b, `{"subscriptionId":`...)
	b = appendString(b, s.SubscriptionID)
	b = append(b, `,"productId":`...)
	b = appendString(b, s.ProductID)
	b = append(b, `,"seats":`...)
	b = strconv.AppendInt(b, int64(s.Seats), 10)
	b = append(b, `,"channel":`...)
	b = appendString(b, s.Channel)
	b = append(b, `,"state":`...)
	b = appendString(b, s.State)
	if s.SelfServiceOwner != "" {
		b = append(b, `,"selfServiceOwner":`...)
		b = appendString(b, s.SelfServiceOwner)
	}
	return append(b, '}')
}

func (a requestsAnswer) appendJSON(b []byte) ([]byte, bool) {
	b = append(b, `{"requests":`...)
	failed := false
	b = appendList(b, a.Requests, func(b []byte, r *projections.RequestView) []byte {
		b, ok := appendRequestView(b, r)
		failed = failed || !ok
		return b
	})
	if failed {
		return b, false
	}
	b = append(b, `,"tenant":`...)
	b = appendString(b, a.Tenant)
	return append(b, "}\n"...), true
}

func appendRequestView(b []byte, r *projections.RequestView) ([]byte, bool) {
	var ok bool
	b = append(b, `{"requestId":`...)
	b = appendString(b, r.RequestID)
	b = append(b, `,"productId":`...)
	b = appendString(b, r.ProductID)
	b = append(b, `,"requesterId":`...)
	b = appendString(b, r.RequesterID)
	b = append(b, `,"userIds":`...)
	b = appendStrings(b, r.UserIDs)
	if r.Message != "" {
		b = append(b, `,"message":`...)
		b = appendString(b, r.Message)
	}
	b = append(b, `,"requestedAt":`...)
	if b, ok = appendTime(b, r.RequestedAt); !ok {
		return b, false
	}
	b = append(b, `,"status":`...)
	b = appendString(b, r.Status)
	if !r.DecidedAt.IsZero() {
		b = append(b, `,"decidedAt":`...)
		if b, ok = appendTime(b, r.DecidedAt); !ok {
			return b, false
		}
	}
	if r.DecidedBy != "" {
		b = append(b, `,"decidedBy":`...)
		b = appendString(b, r.DecidedBy)
	}
	if r.AssignedProduct != "" {
		b = append(b, `,"assignedProductId":`...)
		b = appendString(b, r.AssignedProduct)
	}
	if len(r.ApprovedUserIDs) > 0 {
		b = append(b, `,"approvedUserIds":`...)
		b = appendStrings(b, r.ApprovedUserIDs)
	}
	if len(r.RejectedUserIDs) > 0 {
		b = append(b, `,"rejectedUserIds":`...)
		b = appendStrings(b, r.RejectedUserIDs)
	}
	if len(r.SharedWith) > 0 {
		b = append(b, `,"sharedWith":`...)
		b = appendStrings(b, r.SharedWith)
	}
	if r.ProductName != "" {
		b = append(b, `,"productName":`...)
		b = appendString(b, r.ProductName)
	}
	if len(r.People) > 0 {
		b = append(b, `,"people":`...)
		b = appendList(b, r.People, func(b []byte, p *projections.Person) []byte {
			b = append(b, `{"userId":`...)
			b = appendString(b, p.UserID)
			b = append(b, `,"displayName":`...)
			b = appendString(b, p.DisplayName)
			return append(b, '}')
		})
	}
	return append(b, '}'), true
}

// appendStrings appends a []string as encoding/json does: null when nil.
func appendStrings(b []byte, ss []string) []byte {
	return appendList(b, ss, func(b []byte, s *string) []byte { return appendString(b, *s) })
}

// appendList appends a slice as encoding/json does, null when nil, each
// element by elem.
func appendList[T any](b []byte, xs []T, elem func([]byte, *T) []byte) []byte {
	if xs == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, &xs[i])
	}
	return append(b, ']')
}

// appendTime appends t as its MarshalJSON does (RFC 3339 with nanoseconds),
// for UTC times of years 0 to 9999; ok is false for others.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC || t.Year() < 0 || t.Year() > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}

// encodeAnswer appends the JSON of v, the bytes json.Encoder writes.
func encodeAnswer(b []byte, v any) ([]byte, error) {
	if a, ok := v.(answerAppender); ok {
		if out, ok := a.appendJSON(b); ok {
			return out, nil
		}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	b = append(b, data...)
	return append(b, '\n'), nil
}
