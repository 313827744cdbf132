package main

import (
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// commandBody returns the protobuf JSON body of a command: what
// protojson.Marshal writes, compact (protojson adds random spaces to tell
// its output is not stable), written directly for the flat messages the
// workload sends (strings, lists of strings, integers, booleans, enums)
// because protojson costs the benchmark's process more than the server
// spends reading the body. Other messages go through protojson.
func commandBody(b []byte, msg proto.Message) ([]byte, error) {
	if out, ok := appendFlat(b, msg.ProtoReflect()); ok {
		return out, nil
	}
	data, err := protojson.Marshal(msg)
	return append(b, data...), err
}

// appendFlat appends m's populated fields in declaration order by their
// JSON names; ok is false when a field is of another kind or a string
// needs escaping.
func appendFlat(b []byte, m protoreflect.Message) ([]byte, bool) {
	fields := m.Descriptor().Fields()
	b = append(b, '{')
	first := true
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, fd.JSONName()...)
		b = append(b, '"', ':')
		v := m.Get(fd)
		var ok bool
		switch {
		case fd.IsMap():
			return b, false
		case fd.IsList():
			if fd.Kind() != protoreflect.StringKind {
				return b, false
			}
			l := v.List()
			b = append(b, '[')
			for j := range l.Len() {
				if j > 0 {
					b = append(b, ',')
				}
				if b, ok = appendPlain(b, l.Get(j).String()); !ok {
					return b, false
				}
			}
			b = append(b, ']')
		case fd.Kind() == protoreflect.StringKind:
			if b, ok = appendPlain(b, v.String()); !ok {
				return b, false
			}
		case fd.Kind() == protoreflect.Int32Kind:
			b = strconv.AppendInt(b, v.Int(), 10)
		case fd.Kind() == protoreflect.BoolKind:
			b = strconv.AppendBool(b, v.Bool())
		case fd.Kind() == protoreflect.EnumKind:
			ev := fd.Enum().Values().ByNumber(v.Enum())
			if ev == nil {
				return b, false
			}
			if b, ok = appendPlain(b, string(ev.Name())); !ok {
				return b, false
			}
		default:
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendPlain appends s quoted when it needs no escaping in JSON.
func appendPlain(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
