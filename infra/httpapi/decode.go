package httpapi

import (
	"math"
	"reflect"
	"strconv"
	"strings"
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
	fields map[string]*decodeField
	goType reflect.Type // the message's Go type, whose fields goField index
}

// decodeField is one field of a command and where decodeFast puts it:
// straight into the generated struct's field (goField, its index) when the
// field is a string, a list of strings, a bool, an int32, a uint32 or an
// enum without presence, which sets what protoreflect's Set would, without
// boxing every value in a protoreflect.Value and every list element in a
// reflect.Value; through protoreflect otherwise.
type decodeField struct {
	fd      protoreflect.FieldDescriptor
	goField int // index in the message's Go struct; -1: through protoreflect
	bit     uint64
}

var decodePlans sync.Map // protoreflect.FullName -> *decodePlan

func decodePlanOf(m protoreflect.Message) *decodePlan {
	md := m.Descriptor()
	if p, ok := decodePlans.Load(md.FullName()); ok {
		return p.(*decodePlan)
	}
	p := &decodePlan{goType: reflect.TypeOf(m.Interface())}
	fields := md.Fields()
	if md.Oneofs().Len() == 0 && fields.Len() <= 64 {
		goFields := goFieldsOf(m)
		p.ok, p.fields = true, map[string]*decodeField{}
		for i := range fields.Len() {
			fd := fields.Get(i)
			f := &decodeField{fd: fd, goField: -1, bit: uint64(1) << i}
			if sf, ok := goFields[fd.Number()]; ok && goTypeFits(fd, sf.Type) {
				f.goField = sf.Index[0]
			}
			p.fields[fd.JSONName()] = f
		}
	}
	decodePlans.Store(md.FullName(), p)
	return p
}

// goFieldsOf returns the fields of m's generated Go struct by field
// number, as their protobuf tags give it; none when m is not a pointer to
// a struct (dynamicpb, say).
func goFieldsOf(m protoreflect.Message) map[protoreflect.FieldNumber]reflect.StructField {
	out := map[protoreflect.FieldNumber]reflect.StructField{}
	t := reflect.TypeOf(m.Interface())
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return out
	}
	t = t.Elem()
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, ok := sf.Tag.Lookup("protobuf")
		if !ok || !sf.IsExported() {
			continue
		}
		parts := strings.Split(tag, ",")
		if len(parts) < 2 {
			continue
		}
		n, err := strconv.ParseInt(parts[1], 10, 32)
		if err != nil {
			continue
		}
		out[protoreflect.FieldNumber(n)] = sf
	}
	return out
}

// goTypeFits reports whether a Go struct field of type t holds fd as
// decodeFast sets it directly: no presence (proto3 optional fields are
// pointers), and the Go kind of fd's kind.
func goTypeFits(fd protoreflect.FieldDescriptor, t reflect.Type) bool {
	if fd.IsMap() || (fd.HasPresence() && !fd.IsList()) {
		return false
	}
	if fd.IsList() {
		return fd.Kind() == protoreflect.StringKind && t == reflect.TypeFor[[]string]()
	}
	switch fd.Kind() {
	case protoreflect.StringKind:
		return t.Kind() == reflect.String
	case protoreflect.BoolKind:
		return t.Kind() == reflect.Bool
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.EnumKind:
		return t.Kind() == reflect.Int32
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return t.Kind() == reflect.Uint32
	}
	return false
}

// decodeFast decodes body into msg and reports whether it could; when it
// could not, msg may hold part of the body and must be decoded again by
// protojson (which resets it first).
func decodeFast(body []byte, msg proto.Message) bool {
	m := msg.ProtoReflect()
	plan := decodePlanOf(m)
	if !plan.ok {
		return false
	}
	proto.Reset(msg)
	// The plan is kept by full name: a message of another Go type with
	// that name (dynamicpb) is set through protoreflect.
	direct := reflect.TypeOf(msg) == plan.goType
	rv := reflect.ValueOf(msg)
	if direct {
		rv = rv.Elem()
	}
	var seen uint64
	d := jsonscan.New(body)
	return d.Object(func(name []byte) bool {
		f := plan.fields[string(name)]
		if f == nil || seen&f.bit != 0 {
			return false
		}
		seen |= f.bit
		if direct && f.goField >= 0 {
			return decodeGoField(&d, rv.Field(f.goField), f.fd)
		}
		return decodeValue(&d, m, f.fd)
	})
}

// decodeGoField reads the value of field fd into v, its field in the
// generated struct (see goTypeFits), as decodeValue would set it.
func decodeGoField(d *jsonscan.Scanner, v reflect.Value, fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() {
		if !d.Byte('[') {
			return false
		}
		if d.Peek() == ']' {
			d.Next()
			return true
		}
		var tmp [16]string
		list := tmp[:0]
		for {
			s, ok := d.PlainString()
			if !ok {
				return false
			}
			list = append(list, string(s))
			switch d.Next() {
			case ',':
				continue
			case ']':
				*v.Addr().Interface().(*[]string) = append([]string(nil), list...)
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
		v.SetString(string(s))
	case protoreflect.BoolKind:
		b, ok := d.Bool()
		if !ok {
			return false
		}
		v.SetBool(b)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		n, ok := readInt(d, math.MinInt32, math.MaxInt32)
		if !ok {
			return false
		}
		v.SetInt(n)
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		n, ok := readInt(d, 0, math.MaxUint32)
		if !ok {
			return false
		}
		v.SetUint(uint64(n))
	case protoreflect.EnumKind:
		s, ok := d.PlainString()
		if !ok || fd.Enum().FullName() == "google.protobuf.NullValue" {
			return false
		}
		ev := fd.Enum().Values().ByName(protoreflect.Name(s))
		if ev == nil {
			return false
		}
		v.SetInt(int64(ev.Number()))
	default:
		return false
	}
	return true
}

// readInt reads an integer between lo and hi, without allocating.
func readInt(d *jsonscan.Scanner, lo, hi int64) (int64, bool) {
	s, ok := d.Integer()
	if !ok {
		return 0, false
	}
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) > 10 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if n < lo || n > hi {
		return 0, false
	}
	return n, true
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
