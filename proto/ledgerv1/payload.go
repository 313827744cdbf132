package ledgerv1

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// payloadFields maps each payload message to its field in Event's oneof.
// It is built on first use: the descriptors exist only once the generated
// files' init functions have run.
var payloadFields = sync.OnceValue(func() map[protoreflect.FullName]protoreflect.FieldDescriptor {
	oneof := (&Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")
	m := make(map[protoreflect.FullName]protoreflect.FieldDescriptor, oneof.Fields().Len())
	for i := 0; i < oneof.Fields().Len(); i++ {
		f := oneof.Fields().Get(i)
		m[f.Message().FullName()] = f
	}
	return m
})

// NewEvent returns an Event whose payload is p, with an empty envelope.
// It fails if p is not one of the event payload messages.
func NewEvent(p proto.Message) (*Event, error) {
	f, ok := payloadFields()[p.ProtoReflect().Descriptor().FullName()]
	if !ok {
		return nil, fmt.Errorf("ledgerv1: %s is not an event payload", p.ProtoReflect().Descriptor().FullName())
	}
	e := &Event{}
	e.ProtoReflect().Set(f, protoreflect.ValueOfMessage(p.ProtoReflect()))
	return e, nil
}

// PayloadMessage returns the event's payload message, or nil if it has none
// (an event written by a newer release, whose payload this one cannot read).
func (e *Event) PayloadMessage() proto.Message {
	m := e.ProtoReflect()
	f := m.WhichOneof(m.Descriptor().Oneofs().ByName("payload"))
	if f == nil {
		return nil
	}
	return m.Get(f).Message().Interface()
}

// TypeName returns the event type: the payload message's name, such as
// "LicenseAssigned", or "" when the payload is unknown.
func (e *Event) TypeName() string {
	if p := e.PayloadMessage(); p != nil {
		return string(p.ProtoReflect().Descriptor().Name())
	}
	return ""
}

// IsEventType reports whether name is the type of an event payload.
func IsEventType(name string) bool {
	_, ok := payloadFields()[protoreflect.FullName("ledger.v1."+name)]
	return ok
}
