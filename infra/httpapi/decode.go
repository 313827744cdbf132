package httpapi

import (
	"strconv"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/licensing-ledger/ledger/internal/jsonscan"
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
	var seen uint64
	d := jsonscan.New(body)
	return d.Object(func(name []byte) bool {
		fd := plan.fields[string(name)]
		if fd == nil {
			return false
		}
		bit := uint64(1) << fd.Index()
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return decodeValue(&d, m, fd)
	})
}

// decodeValue reads the value of field fd and sets it in m.
func decodeValue(d *jsonscan.Scanner, m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return false
	}
	if fd.IsList() {
		if fd.Kind() != protoreflect.StringKind || !d.Byte('[') {
			return false
		}
		list := m.Mutable(fd).List()
		if d.Peek() == ']' {
			d.Next()
			return true
		}
		for {
			s, ok := d.PlainString()
			if !ok {
				return false
			}
			list.Append(protoreflect.ValueOfString(string(s)))
			switch d.Next() {
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
		s, ok := d.PlainString()
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfString(string(s)))
	case protoreflect.BoolKind:
		v, ok := d.Bool()
		if !ok {
			return false
		}
		m.Set(fd, protoreflect.ValueOfBool(v))
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		s, ok := d.Integer()
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(string(s), 10, 32)
		if err != nil {
			return false
		}
		m.Set(fd, protoreflect.ValueOfInt32(int32(n)))
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		s, ok := d.Integer()
		if !ok || s[0] == '-' {
			return false
		}
		n, err := strconv.ParseUint(string(s), 10, 32)
		if err != nil {
			return false
		}
		m.Set(fd, protoreflect.ValueOfUint32(uint32(n)))
	case protoreflect.EnumKind:
		s, ok := d.PlainString()
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
