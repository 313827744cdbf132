package httpapi

import (
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Command bodies are small flat objects: ids, lists of ids, a number of
// seats, an enum, a flag. protojson decodes them through a general
// tokenizer and reflection, which costs several times what reading such
// a body takes, so decodeFast reads the common shape itself: one object
// whose fields are named by their JSON names, each once, with strings
// without escape sequences, integers without fraction or exponent, enums
// by name, booleans, and lists of such strings. Anything else (escapes,
// proto field names, null, numbers as strings, nested messages, unknown
// fields, duplicates, malformed JSON) is left to protojson, which decides
// exactly as before and writes the same refusals; decode_test.go checks
// that both give the same message wherever decodeFast answers.

// decodePlan is how decodeFast reads one command type: its fields by JSON
// name, or ok false when the type has oneofs or more than 64 fields.
type decodePlan struct {
	ok     bool
	fields map[string]protoreflect.FieldDescriptor
}

var decodePlans sync.Map // protoreflect.FullName -> *decodePlan

func decodePlanOf(md protoreflect.MessageDescriptor) *decodePlan {
	if p, ok := decodePlans.Load(md.FullName()); ok {
		return p.(*decodePlan)
	}
	p := &decodePlan{}
	fields := md.Fields()
	if md.Oneofs().Len() == 0 && fields.Len() <= 64 {
		p.ok, p.fields = true, map[string]protoreflect.FieldDescriptor{}
		for i := range fields.Len() {
			fd := fields.Get(i)
			p.fields[fd.JSONName()] = fd
		}
	}
	decodePlans.Store(md.FullName(), p)
	return p
}

// decodeFast decodes body into msg and reports whether it could; when it
// could not, msg may hold part of the body and must be decoded again by
// protojson (which resets it first).
func decodeFast(body []byte, msg proto.Message) bool {
	m := msg.ProtoReflect()
	plan := decodePlanOf(m.Descriptor())
	if !plan.ok {
		return false
	}
	proto.Reset(msg)
	d := fastDecoder{b: body}
	if !d.byte('{') {
		return false
	}
	var seen uint64
	if d.peek() == '}' {
		d.i++
		return d.end()
	}
	for {
		name, ok := d.plainString()
		if !ok {
			return false
		}
		fd := plan.fields[string(name)]
		if fd == nil || !d.byte(':') {
			return false
		}
		bit := uint64(1) << fd.Index()
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		if !d.value(m, fd) {
			return false
		}
		switch d.next() {
		case ',':
			continue
		case '}':
			return d.end()
		}
		return false
	}
}

// fastDecoder reads JSON tokens from b at i.
type fastDecoder struct {
	b []byte
	i int
}

func (d *fastDecoder) skipSpace() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, 0 at the end.
func (d *fastDecoder) peek() byte {
	d.skipSpace()
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

// next consumes and returns the next byte after white space.
func (d *fastDecoder) next() byte {
	c := d.peek()
	if c != 0 {
		d.i++
	}
	return c
}

// byte consumes c, after white space.
func (d *fastDecoder) byte(c byte) bool { return d.next() == c }

// end reports whether only white space is left.
func (d *fastDecoder) end() bool { return d.peek() == 0 && d.i == len(d.b) }

// plainString reads a string without escapes or control characters, in
// valid UTF-8; ok is false for any other.
func (d *fastDecoder) plainString() ([]byte, bool) {
	if !d.byte('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < ' ':
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, false
}

// integer reads a JSON integer: an optional minus, then 0 or digits not
// starting with 0, followed by a delimiter (no fraction, no exponent).
func (d *fastDecoder) integer() ([]byte, bool) {
	d.skipSpace()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || (n > 1 && d.b[digits] == '0') {
		return nil, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
		default:
			return nil, false
		}
	}
	return d.b[start:d.i], true
}

// value reads the value of field fd and sets it in m.
func (d *fastDecoder) value(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return false
	}
	if fd.IsList() {
		if fd.Kind() != protoreflect.StringKind || !d.byte('[') {
			return false
		}
		list := m.Mutable(fd).List()
		if d.peek() == ']' {
			d.i++
			return true
		}
		for {
			s, ok := d.plainString()
			if !ok {
				return false
			}
			list.Append(protoreflect.ValueOfString(string(s)))
			switch d.next() {
			case ',':
				continue
			case ']':
				return true
			}
			return false
		}
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		s, ok := d.plainString()
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfString(string(s)))
	case protoreflect.BoolKind:
		switch d.peek() {
		case 't':
			if !d.literal("true") {
				return false
			}
			m.Set(fd, protoreflect.ValueOfBool(true))
		case 'f':
			if !d.literal("false") {
				return false
			}
			m.Set(fd, protoreflect.ValueOfBool(false))
		default:
			return false
		}
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s, ok := d.integer()
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(string(s), 10, 32)
		if err != nil {
			return false
		}
		m.Set(fd, protoreflect.ValueOfInt32(int32(n)))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		s, ok := d.integer()
		if !ok || s[0] == '-' {
			return false
		}
		n, err := strconv.ParseUint(string(s), 10, 32)
		if err != nil {
			return false
		}
		m.Set(fd, protoreflect.ValueOfUint32(uint32(n)))
	case protoreflect.EnumKind:
		s, ok := d.plainString()
		if !ok || fd.Enum().FullName() == "google.protobuf.NullValue" {
			return false
		}
		v := fd.Enum().Values().ByName(protoreflect.Name(s))
		if v == nil {
			return false
		}
		m.Set(fd, protoreflect.ValueOfEnum(v.Number()))
	default:
		return false
	}
	return true
}

// literal consumes the literal word w, which must end there.
func (d *fastDecoder) literal(w string) bool {
	d.skipSpace()
	if len(d.b)-d.i < len(w) || string(d.b[d.i:d.i+len(w)]) != w {
		return false
	}
	d.i += len(w)
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r', ',', '}', ']':
		default:
			return false
		}
	}
	return true
}
