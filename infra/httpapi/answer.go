package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// An accepted command's answer is the hottest body the API writes: every
// command sends one, with each event's payload in the protobuf JSON
// mapping. Encoding it with encoding/json over protojson output costs more
// than deciding most commands (protojson sorts and reflects over every
// field, then encoding/json compacts and escapes what protojson wrote), so
// the answer is written here in one pass into a pooled buffer, byte for
// byte what that pair wrote (answer_test.go compares them for every event
// type): compact JSON, strings escaped as encoding/json escapes them (HTML
// characters and U+2028/U+2029 included), payload fields in declaration
// order with their JSON names, unpopulated fields left out, 64-bit
// integers quoted, enums by name, bytes in base64, timestamps in RFC 3339.
// A payload with anything else (floats, maps, other well-known types,
// invalid UTF-8) goes through protojson as before.

// bufPool holds answer buffers; buffers that grew past maxPooledBuf are
// left to the collector so that one large answer does not pin its memory.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooledBuf = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// writeBody writes an encoded JSON body with its length, in one write.
// The two header values share one slice, each header holding its own
// part of it (capacity one: an Add to either allocates anew).
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	values := []string{contentType, strconv.Itoa(len(body))}
	h["Content-Type"] = values[0:1:1]
	h["Content-Length"] = values[1:2:2]
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeCommandResponse writes the answer to an accepted command.
func writeCommandResponse(w http.ResponseWriter, res ledger.Result) {
	b := getBuf()
	*b = appendCommandResponse((*b)[:0], res)
	writeBody(w, http.StatusOK, "application/json", *b)
	putBuf(b)
}

// appendCommandResponse appends the CommandResponse of res, as
// json.Encoder writes it (with its final newline).
func appendCommandResponse(b []byte, res ledger.Result) []byte {
	b = append(b, `{"commandId":`...)
	b = appendString(b, res.CommandID)
	if res.Replayed {
		b = append(b, `,"replayed":true,"events":[`...)
	} else {
		b = append(b, `,"replayed":false,"events":[`...)
	}
	for i, e := range res.Events {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendEventSummary(b, e)
	}
	b = append(b, ']')
	if res.Notice != nil {
		notice, err := json.Marshal(res.Notice)
		if err == nil {
			b = append(b, `,"notice":`...)
			b = append(b, notice...)
		}
	}
	return append(b, "}\n"...)
}

// payloadOneof is the event's payload oneof, looked up once rather than
// by name for every event as Event.PayloadMessage does.
var payloadOneof = (&ledgerv1.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")

// payloadKind is one event type of the payload oneof: its name and the
// plan of its message.
type payloadKind struct {
	name string
	plan *msgPlan
}

// payloadKinds maps the Go type of each wrapper of the payload oneof
// (*ledgerv1.Event_LicenseAssigned, ...) to its event type, so that an
// event's payload is found by its Go type rather than by protoreflect's
// WhichOneof and Get.
var payloadKinds = sync.OnceValue(func() map[reflect.Type]payloadKind {
	out := map[reflect.Type]payloadKind{}
	fields := payloadOneof.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		e := &ledgerv1.Event{}
		m := e.ProtoReflect()
		m.Set(fd, m.NewField(fd))
		out[reflect.TypeOf(e.Payload)] = payloadKind{name: string(fd.Message().Name()), plan: planOf(fd.Message())}
	}
	return out
})

// appendEventSummary appends the EventSummary of e.
func appendEventSummary(b []byte, e *ledgerv1.Event) []byte {
	if e.Payload != nil {
		if k, ok := payloadKinds()[reflect.TypeOf(e.Payload)]; ok && k.plan.goType != nil {
			// The wrapper is a pointer to a struct whose one field is the
			// payload's pointer.
			if pv := reflect.ValueOf(e.Payload).Elem().Field(0); !pv.IsNil() {
				b = appendEventHead(b, e, k.name)
				if out, ok := appendGo(b, pv.Elem(), k.plan); ok {
					return append(out, '}')
				}
				return append(appendSlowPayload(b, pv.Interface().(proto.Message)), '}')
			}
		}
	}
	em := e.ProtoReflect()
	var payload protoreflect.Message
	typ := ""
	if fd := em.WhichOneof(payloadOneof); fd != nil {
		payload = em.Get(fd).Message()
		typ = string(fd.Message().Name())
	}
	b = appendEventHead(b, e, typ)
	if payload == nil {
		return append(b, "{}}"...)
	}
	if out, ok := appendMessage(b, payload); ok {
		return append(out, '}')
	}
	return append(appendSlowPayload(b, payload.Interface()), '}')
}

// appendEventHead appends an EventSummary up to its data's value.
func appendEventHead(b []byte, e *ledgerv1.Event, typ string) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, e.GetId())
	b = append(b, `,"type":`...)
	b = appendString(b, typ)
	b = append(b, `,"sequence":`...)
	b = strconv.AppendUint(b, e.GetSequence(), 10)
	return append(b, `,"data":`...)
}

// appendSlowPayload appends a payload the fast path does not handle, as
// the answer always did: protojson, compacted and escaped by encoding/json,
// and {} when protojson fails.
func appendSlowPayload(b []byte, payload proto.Message) []byte {
	var data []byte
	var err error
	if payload != nil {
		data, err = protojson.MarshalOptions{}.Marshal(payload)
	}
	if err != nil || len(data) == 0 {
		return append(b, "{}"...)
	}
	out, err := json.Marshal(json.RawMessage(data))
	if err != nil {
		return append(b, "{}"...)
	}
	return append(b, out...)
}

// msgPlan is how the fast path writes one message type: its fields in
// declaration order with their names already encoded, or ok false when a
// field needs protojson.
type msgPlan struct {
	ok        bool
	timestamp bool // google.protobuf.Timestamp, written as RFC 3339
	fields    []fieldPlan
	// goType is the generated struct whose fields appendGo reads directly
	// (each field's goField), sub-messages included; nil when a field has
	// explicit presence or no Go field of the expected type, or the
	// message has no generated type: then the fields are read through
	// protoreflect.
	goType reflect.Type
}

type fieldPlan struct {
	fd      protoreflect.FieldDescriptor
	name    string // `"jsonName":`
	sub     *msgPlan
	goField int // index in msgPlan.goType
}

// plans caches a *msgPlan per message full name.
var plans sync.Map

// planOf returns the plan of a message type, building it on first use.
func planOf(md protoreflect.MessageDescriptor) *msgPlan {
	if p, ok := plans.Load(md.FullName()); ok {
		return p.(*msgPlan)
	}
	p := buildPlan(md, map[protoreflect.FullName]bool{})
	plans.Store(md.FullName(), p)
	return p
}

func buildPlan(md protoreflect.MessageDescriptor, building map[protoreflect.FullName]bool) *msgPlan {
	name := md.FullName()
	if name == "google.protobuf.Timestamp" {
		return &msgPlan{ok: true, timestamp: true}
	}
	if building[name] || strings.HasPrefix(string(name), "google.protobuf.") || md.ExtensionRanges().Len() > 0 {
		return &msgPlan{} // recursive types and other well-known types: protojson
	}
	building[name] = true
	defer delete(building, name)
	p := &msgPlan{ok: true}
	var goFields map[protoreflect.FieldNumber]reflect.StructField
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(name); err == nil {
		goFields = goFieldsOf(mt.Zero())
		p.goType = reflect.TypeOf(mt.Zero().Interface())
		if len(goFields) == 0 || p.goType.Kind() != reflect.Pointer {
			p.goType = nil
		} else {
			p.goType = p.goType.Elem()
		}
	}
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		f := fieldPlan{fd: fd, name: string(appendString(nil, fd.JSONName())) + ":", goField: -1}
		if fd.IsMap() {
			return &msgPlan{}
		}
		switch fd.Kind() {
		case protoreflect.BoolKind, protoreflect.StringKind, protoreflect.BytesKind,
			protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
			protoreflect.Uint32Kind, protoreflect.Fixed32Kind,
			protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind,
			protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		case protoreflect.EnumKind:
			if fd.Enum().FullName() == "google.protobuf.NullValue" {
				return &msgPlan{}
			}
		case protoreflect.MessageKind:
			if f.sub = buildPlan(fd.Message(), building); !f.sub.ok {
				return &msgPlan{}
			}
		default: // floats, groups
			return &msgPlan{}
		}
		if sf, ok := goFields[fd.Number()]; ok && goTypeReads(fd, sf.Type, f.sub) {
			f.goField = sf.Index[0]
		} else {
			p.goType = nil
		}
		p.fields = append(p.fields, f)
	}
	return p
}

// goTypeReads reports whether a generated struct field of type t holds
// fd as appendGo reads it: without explicit presence (whose Go fields are
// pointers), a slice for a list, a pointer to sub's struct for a message.
func goTypeReads(fd protoreflect.FieldDescriptor, t reflect.Type, sub *msgPlan) bool {
	if fd.IsMap() || (fd.HasPresence() && fd.Kind() != protoreflect.MessageKind) {
		return false
	}
	if fd.IsList() {
		if t.Kind() != reflect.Slice {
			return false
		}
		t = t.Elem()
	}
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return t.Kind() == reflect.Bool
	case protoreflect.StringKind:
		return t.Kind() == reflect.String
	case protoreflect.BytesKind:
		return t == reflect.TypeFor[[]byte]()
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.EnumKind:
		return t.Kind() == reflect.Int32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return t.Kind() == reflect.Uint32
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return t.Kind() == reflect.Int64
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return t.Kind() == reflect.Uint64
	case protoreflect.MessageKind:
		if sub.timestamp {
			return t == reflect.TypeFor[*timestamppb.Timestamp]()
		}
		return sub.goType != nil && t.Kind() == reflect.Pointer && t.Elem() == sub.goType
	}
	return false
}

// appendMessage appends m as protojson would, compacted and escaped as
// encoding/json would; ok is false when m needs protojson itself.
func appendMessage(b []byte, m protoreflect.Message) ([]byte, bool) {
	p := planOf(m.Descriptor())
	if !p.ok {
		return b, false
	}
	if p.goType != nil {
		if rv := reflect.ValueOf(m.Interface()); rv.Kind() == reflect.Pointer && rv.Type().Elem() == p.goType && !rv.IsNil() {
			return appendGo(b, rv.Elem(), p)
		}
	}
	return appendPlanned(b, m, p)
}

// appendGo is appendPlanned reading the generated struct v's fields
// directly rather than through protoreflect's Has and Get, which check
// the field and box each value: a field is populated, as protoreflect's
// Has says for fields without explicit presence, when it is not its zero
// value (a list or bytes when not empty, a message when not nil).
func appendGo(b []byte, v reflect.Value, p *msgPlan) ([]byte, bool) {
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.Field(f.goField)
		if fv.IsZero() || (fv.Kind() == reflect.Slice && fv.Len() == 0) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		var ok bool
		if f.fd.IsList() {
			b = append(b, '[')
			for j := range fv.Len() {
				if j > 0 {
					b = append(b, ',')
				}
				if b, ok = appendGoValue(b, fv.Index(j), f); !ok {
					return b, false
				}
			}
			b = append(b, ']')
			continue
		}
		if b, ok = appendGoValue(b, fv, f); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendGoValue is appendValue for a value read from a generated struct.
func appendGoValue(b []byte, v reflect.Value, f *fieldPlan) ([]byte, bool) {
	switch f.fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), true
	case protoreflect.StringKind:
		s := v.String()
		if !utf8.ValidString(s) {
			return b, false // protojson refuses it
		}
		return appendString(b, s), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return strconv.AppendInt(b, v.Int(), 10), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return strconv.AppendUint(b, v.Uint(), 10), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendInt(b, v.Int(), 10), '"'), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendUint(b, v.Uint(), 10), '"'), true
	case protoreflect.BytesKind:
		b = append(b, '"')
		return append(base64.StdEncoding.AppendEncode(b, v.Bytes()), '"'), true
	case protoreflect.EnumKind:
		n := protoreflect.EnumNumber(v.Int())
		if d := f.fd.Enum().Values().ByNumber(n); d != nil {
			return appendString(b, string(d.Name())), true
		}
		return strconv.AppendInt(b, int64(n), 10), true
	case protoreflect.MessageKind:
		if v.IsNil() {
			return b, false // a nil element of a list: protojson decides
		}
		if f.sub.timestamp {
			ts := v.Interface().(*timestamppb.Timestamp)
			return appendTimestampOf(b, ts.GetSeconds(), int64(ts.GetNanos()))
		}
		return appendGo(b, v.Elem(), f.sub)
	}
	return b, false
}

func appendPlanned(b []byte, m protoreflect.Message, p *msgPlan) ([]byte, bool) {
	if p.timestamp {
		return appendTimestamp(b, m)
	}
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		if !m.Has(f.fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.name...)
		v := m.Get(f.fd)
		var ok bool
		if f.fd.IsList() {
			l := v.List()
			b = append(b, '[')
			for j := range l.Len() {
				if j > 0 {
					b = append(b, ',')
				}
				if b, ok = appendValue(b, l.Get(j), f); !ok {
					return b, false
				}
			}
			b = append(b, ']')
			continue
		}
		if b, ok = appendValue(b, v, f); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendValue appends one singular value of field f.
func appendValue(b []byte, v protoreflect.Value, f *fieldPlan) ([]byte, bool) {
	switch f.fd.Kind() {
	case protoreflect.BoolKind:
		return strconv.AppendBool(b, v.Bool()), true
	case protoreflect.StringKind:
		s := v.String()
		if !utf8.ValidString(s) {
			return b, false // protojson refuses it
		}
		return appendString(b, s), true
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return strconv.AppendInt(b, v.Int(), 10), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return strconv.AppendUint(b, v.Uint(), 10), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendInt(b, v.Int(), 10), '"'), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		b = append(b, '"')
		return append(strconv.AppendUint(b, v.Uint(), 10), '"'), true
	case protoreflect.BytesKind:
		b = append(b, '"')
		return append(base64.StdEncoding.AppendEncode(b, v.Bytes()), '"'), true
	case protoreflect.EnumKind:
		if d := f.fd.Enum().Values().ByNumber(v.Enum()); d != nil {
			return appendString(b, string(d.Name())), true
		}
		return strconv.AppendInt(b, int64(v.Enum()), 10), true
	case protoreflect.MessageKind:
		return appendPlanned(b, v.Message(), f.sub)
	}
	return b, false
}

// appendTimestamp writes a google.protobuf.Timestamp as protojson does:
// RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits.
func appendTimestamp(b []byte, m protoreflect.Message) ([]byte, bool) {
	fds := m.Descriptor().Fields()
	return appendTimestampOf(b, m.Get(fds.ByNumber(1)).Int(), m.Get(fds.ByNumber(2)).Int())
}

func appendTimestampOf(b []byte, secs, nanos int64) ([]byte, bool) {
	if secs < -62135596800 || secs > 253402300799 || nanos < 0 || nanos > 999_999_999 {
		return b, false
	}
	var tmp [40]byte
	x := time.Unix(secs, nanos).UTC().AppendFormat(tmp[:0], "2006-01-02T15:04:05.000000000")
	for range 2 {
		if len(x) >= 3 && string(x[len(x)-3:]) == "000" {
			x = x[:len(x)-3]
		}
	}
	if len(x) >= 4 && string(x[len(x)-4:]) == ".000" {
		x = x[:len(x)-4]
	}
	b = append(b, '"')
	b = append(b, x...)
	return append(b, 'Z', '"'), true
}

// appendString appends s as a JSON string exactly as encoding/json writes
// it with HTML escaping (its default): invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
