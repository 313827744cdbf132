package audit

import (
	"fmt"
	"slices"
	"strings"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// SubjectKinds lists what a history can be about.
var SubjectKinds = []string{"user", "product", "subscription", "request", "group"}

// Subject is what a history is about: a user, product, subscription,
// request or group of the tenant, by id.
type Subject struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// CheckSubject refuses a subject of an unknown kind or without an id.
func CheckSubject(s Subject) error {
	if !slices.Contains(SubjectKinds, s.Kind) {
		return fmt.Errorf("a history is about a %s, not a %q", strings.Join(SubjectKinds, ", "), s.Kind)
	}
	if s.ID == "" {
		return fmt.Errorf("name the %s whose history you want", s.Kind)
	}
	return nil
}

// subjectKind returns what a payload field names by its name, "" for
// fields that name nothing. It goes by the field naming rules of the event
// schema (docs/AUDIT.md), so that payloads added later are found too.
func subjectKind(field protoreflect.Name) string {
	name := string(field)
	switch {
	case strings.HasSuffix(name, "user_id"), strings.HasSuffix(name, "user_ids"),
		name == "requester_id", name == "purchased_by", name == "previous_owner":
		return "user"
	case name == "product_id":
		return "product"
	case name == "subscription_id":
		return "subscription"
	case name == "request_id":
		return "request"
	case name == "group_id":
		return "group"
	}
	return ""
}

// mentions reports whether the event's payload names the subject.
func mentions(e *ledgerv1.Event, s Subject) bool {
	found := false
	eachID(e, func(kind, id string) bool {
		found = kind == s.Kind && id == s.ID
		return !found
	})
	return found
}

// payloadID returns the first id of the kind the payload names, or "".
func payloadID(e *ledgerv1.Event, kind string) string {
	var out string
	eachID(e, func(k, id string) bool {
		if k == kind {
			out = id
		}
		return out == ""
	})
	return out
}

// eachID calls fn with every id the event's payload names and its kind,
// until fn returns false.
func eachID(e *ledgerv1.Event, fn func(kind, id string) bool) {
	p := e.PayloadMessage()
	if p == nil {
		return
	}
	p.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		kind := subjectKind(fd.Name())
		if kind == "" || fd.Kind() != protoreflect.StringKind {
			return true
		}
		if !fd.IsList() {
			return fn(kind, v.String())
		}
		for i := range v.List().Len() {
			if !fn(kind, v.List().Get(i).String()) {
				return false
			}
		}
		return true
	})
}
