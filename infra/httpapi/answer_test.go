package httpapi

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// referenceAnswer is how the answer to a command was written before
// appendCommandResponse: encoding/json over each payload's protojson.
func referenceAnswer(res ledger.Result) []byte {
	out := CommandResponse{CommandID: res.CommandID, Replayed: res.Replayed, Events: []EventSummary{}, Notice: res.Notice}
	for _, e := range res.Events {
		data, err := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(e.PayloadMessage())
		if err != nil || len(data) == 0 {
			data = []byte("{}")
		}
		out.Events = append(out.Events, EventSummary{ID: e.GetId(), Type: e.TypeName(), Sequence: e.GetSequence(), Data: json.RawMessage(data)})
	}
	var buf bytes.Buffer
	_ = json.NewEncoder(&buf).Encode(out)
	return buf.Bytes()
}

// awkward are strings that exercise every escape of both encoders.
var awkward = []string{
	"", "alice", "SPB", `quo"te`, `back\slash`, "<script>&amp;</script>", "tab\there", "new\nline\r",
	"\b\f\x00\x01\x1f\x7f", "ünïcödé 日本語 🎉", "line\u2028sep\u2029", "invalid \xff utf8", "a/b",
}

// randomize sets every field of m to a random value, sometimes leaving a
// field unpopulated or at its zero value.
func randomize(rng *rand.Rand, m protoreflect.Message, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if rng.IntN(5) == 0 {
			continue
		}
		if fd.IsList() {
			l := m.Mutable(fd).List()
			for range rng.IntN(4) {
				if fd.Kind() == protoreflect.MessageKind {
					v := l.NewElement()
					randomize(rng, v.Message(), depth+1)
					l.Append(v)
					continue
				}
				l.Append(randomScalar(rng, fd))
			}
			continue
		}
		if fd.Kind() == protoreflect.MessageKind {
			if depth > 3 {
				continue
			}
			v := m.NewField(fd)
			randomize(rng, v.Message(), depth+1)
			m.Set(fd, v)
			continue
		}
		m.Set(fd, randomScalar(rng, fd))
	}
}

func randomScalar(rng *rand.Rand, fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(rng.IntN(2) == 0)
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(awkward[rng.IntN(len(awkward))])
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32([]int32{0, 1, -1, 42, math.MaxInt32, math.MinInt32}[rng.IntN(6)])
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32([]uint32{0, 1, 42, math.MaxUint32}[rng.IntN(4)])
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64([]int64{0, 1, -1, math.MaxInt64, math.MinInt64}[rng.IntN(5)])
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64([]uint64{0, 1, 12345, math.MaxUint64}[rng.IntN(4)])
	case protoreflect.BytesKind:
		return protoreflect.ValueOfBytes([]byte(awkward[rng.IntN(len(awkward))]))
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if rng.IntN(4) == 0 {
			return protoreflect.ValueOfEnum(99) // a number the enum does not name
		}
		return protoreflect.ValueOfEnum(vals.Get(rng.IntN(vals.Len())).Number())
	}
	panic("randomScalar: unexpected kind " + fd.Kind().String())
}

// payloadFields returns the fields of the event's payload oneof.
func payloadFields() []protoreflect.FieldDescriptor {
	od := (&ledgerv1.Event{}).ProtoReflect().Descriptor().Oneofs().ByName("payload")
	var out []protoreflect.FieldDescriptor
	for i := range od.Fields().Len() {
		out = append(out, od.Fields().Get(i))
	}
	return out
}

// TestCommandAnswerIsWhatEncodingJSONOverProtojsonWrote checks that the
// one-pass answer writer gives the same bytes as the encoders it replaced,
// for every event type with random and awkward field values.
func TestCommandAnswerIsWhatEncodingJSONOverProtojsonWrote(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fields := payloadFields()
	if len(fields) < 20 {
		t.Fatalf("found %d event types; expected the payload oneof", len(fields))
	}
	for _, fd := range fields {
		for round := range 200 {
			var evs []*ledgerv1.Event
			for i := range 1 + rng.IntN(3) {
				e := &ledgerv1.Event{Id: "01JEVENT" + awkward[rng.IntN(len(awkward))], Sequence: uint64(round*7 + i)}
				m := e.ProtoReflect()
				v := m.NewField(fd)
				if round > 0 {
					randomize(rng, v.Message(), 0)
				}
				m.Set(fd, v)
				evs = append(evs, e)
			}
			res := ledger.Result{CommandID: awkward[rng.IntN(len(awkward))], Events: evs, Replayed: rng.IntN(2) == 0}
			if rng.IntN(5) == 0 {
				res.Notice = &domain.Notice{Message: awkward[rng.IntN(len(awkward))], Link: awkward[rng.IntN(len(awkward))]}
			}
			got, want := appendCommandResponse(nil, res), referenceAnswer(res)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, round %d:\n got %s\nwant %s", fd.Name(), round, got, want)
			}
		}
	}
}

func TestCommandAnswerEdgeCases(t *testing.T) {
	withPayload := func(set func(e *ledgerv1.Event)) ledger.Result {
		e := &ledgerv1.Event{Id: "e1", Sequence: 7}
		set(e)
		return ledger.Result{CommandID: "c1", Events: []*ledgerv1.Event{e}}
	}
	cases := map[string]ledger.Result{
		"no events":           {CommandID: "c1"},
		"no payload":          {CommandID: "c1", Events: []*ledgerv1.Event{{Id: "e1", Sequence: 1}}},
		"notice without link": {CommandID: "c1", Notice: &domain.Notice{Message: "use the portal"}},
		"payload set to nil":  withPayload(func(e *ledgerv1.Event) { e.Payload = &ledgerv1.Event_LicenseAssigned{} }),
		"empty lists": withPayload(func(e *ledgerv1.Event) {
			e.Payload = &ledgerv1.Event_LicenseAssigned{LicenseAssigned: &ledgerv1.LicenseAssigned{UserId: "u", DisabledPlans: []string{}}}
		}),
		"timestamps": withPayload(func(e *ledgerv1.Event) {
			e.Payload = &ledgerv1.Event_LicenseRemoved{LicenseRemoved: &ledgerv1.LicenseRemoved{UserId: "u", DataRetainedUntil: timestamppb.New(timestamppb.Now().AsTime())}}
		}),
	}
	for _, ts := range []*timestamppb.Timestamp{
		{Seconds: 0}, {Seconds: 1, Nanos: 1}, {Seconds: 1, Nanos: 1_000}, {Seconds: 1, Nanos: 1_000_000}, {Seconds: 1, Nanos: 120_000_000},
		{Seconds: 1, Nanos: 999_999_999}, {Seconds: 1, Nanos: 1_000_000_000}, {Seconds: 1, Nanos: -1},
		{Seconds: -62135596800}, {Seconds: -62135596801}, {Seconds: 253402300799, Nanos: 5}, {Seconds: 253402300800},
	} {
		cases["timestamp "+ts.String()] = withPayload(func(e *ledgerv1.Event) {
			e.Payload = &ledgerv1.Event_LicenseRemoved{LicenseRemoved: &ledgerv1.LicenseRemoved{UserId: "u", DataRetainedUntil: ts}}
		})
	}
	for name, res := range cases {
		got, want := appendCommandResponse(nil, res), referenceAnswer(res)
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestEveryEventTypeIsReadFromItsStruct: the answer reads every event
// type's payload from its generated struct (appendGo), not through
// protoreflect, which costs several times more.
func TestEveryEventTypeIsReadFromItsStruct(t *testing.T) {
	kinds := payloadKinds()
	if len(kinds) != len(payloadFields()) {
		t.Fatalf("%d payload wrappers for %d event types", len(kinds), len(payloadFields()))
	}
	for _, k := range kinds {
		if k.plan.goType == nil {
			t.Errorf("%s is read through protoreflect", k.name)
		}
	}
}

func TestAppendStringEscapesAsEncodingJSON(t *testing.T) {
	var all strings.Builder
	for c := range 256 {
		all.WriteByte(byte(c))
	}
	for _, s := range append(awkward, all.String(), "\u2028\u2029\u2027", "\xe2\x80", "end\xe2") {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendString(%q) = %s; want %s", s, got, want)
		}
	}
}

func TestCommandAnswerHasItsLength(t *testing.T) {
	res := ledger.Result{CommandID: "c1", Events: []*ledgerv1.Event{{Id: "e1", Sequence: 1, Payload: &ledgerv1.Event_LicenseAssigned{LicenseAssigned: &ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB"}}}}}
	w := httptest.NewRecorder()
	writeCommandResponse(w, res)
	want := `{"commandId":"c1","replayed":false,"events":[{"id":"e1","type":"LicenseAssigned","sequence":1,"data":{"userId":"alice","productId":"SPB"}}]}` + "\n"
	if got := w.Body.String(); got != want {
		t.Errorf("body %s; want %s", got, want)
	}
	if w.Header().Get("Content-Length") != "141" || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", w.Header())
	}
}

// benchResult is a bulk assignment's answer: 20 events.
func benchResult() ledger.Result {
	res := ledger.Result{CommandID: "01JD6Q0W3J8Y2N5T7V9X1Z3B5D"}
	for i := range 20 {
		res.Events = append(res.Events, &ledgerv1.Event{Id: "01JD6Q0W3J8Y2N5T7V9X1Z3B5E", Sequence: uint64(1000 + i),
			Payload: &ledgerv1.Event_LicenseAssigned{LicenseAssigned: &ledgerv1.LicenseAssigned{UserId: "u0042", ProductId: "POWER_BI_PRO"}}})
	}
	return res
}

func BenchmarkCommandAnswer(b *testing.B) {
	res := benchResult()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = appendCommandResponse(buf[:0], res)
	}
}

func BenchmarkCommandAnswerReference(b *testing.B) {
	res := benchResult()
	b.ReportAllocs()
	for b.Loop() {
		referenceAnswer(res)
	}
}
