package httpapi

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/licensing-ledger/ledger/domain"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// checkDecodeFast fails the test when decodeFast accepts a body that
// protojson refuses or decodes to another message; it reports whether
// decodeFast answered.
func checkDecodeFast(t *testing.T, name string, body []byte) bool {
	t.Helper()
	fast, _ := domain.NewCommand(name)
	ref, _ := domain.NewCommand(name)
	if !decodeFast(body, fast) {
		return false
	}
	if err := protojson.Unmarshal(body, ref); err != nil {
		t.Fatalf("%s: decodeFast accepted %q, which protojson refuses: %v", name, body, err)
	}
	if !proto.Equal(fast, ref) {
		t.Fatalf("%s: %q decodes to %v; protojson says %v", name, body, fast, ref)
	}
	return true
}

// mutations turn a body into neighbours protojson may decide otherwise.
var mutations = []func(rng *rand.Rand, s string) string{
	func(rng *rand.Rand, s string) string { return " \n\t" + s + "\r\n" },
	func(rng *rand.Rand, s string) string { return strings.ReplaceAll(s, ":", " : ") },
	func(rng *rand.Rand, s string) string { return strings.ReplaceAll(s, ",", " ,\n") },
	func(rng *rand.Rand, s string) string { return s + "x" },
	func(rng *rand.Rand, s string) string { return s + "{}" },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, "{", `{"bogus":1,`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, "Ids", "_ids", 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, "Id\"", "_id\"", 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `"`, `"\u0061`, 3) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":"`, `":null,"x":"`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":null`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":"7"`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":7.0`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":1e2`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":-0`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":007`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":99999999999`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":true`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":tru`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":[]`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":["a","b"]`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":["a",]`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":{}`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":"CHANNEL_PARTNER"`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, `":"\xff"`, 1) },
	func(rng *rand.Rand, s string) string { return strings.Replace(s, `":`, "\":\"a\x01\"", 1) },
	func(rng *rand.Rand, s string) string { // a field twice
		i := strings.Index(s, ",")
		if i < 0 {
			return s
		}
		return s[:len(s)-1] + s[i:]
	},
	func(rng *rand.Rand, s string) string { // drop a byte
		if s == "" {
			return s
		}
		i := rng.IntN(len(s))
		return s[:i] + s[i+1:]
	},
	func(rng *rand.Rand, s string) string { // flip a byte
		if s == "" {
			return s
		}
		b := []byte(s)
		b[rng.IntN(len(b))] = "{}[]:,\" \\-0123456789aeflnrstu"[rng.IntN(29)]
		return string(b)
	},
}

// TestDecodeFastAgreesWithProtojson decodes random bodies of every
// command, and their mutations, both ways.
func TestDecodeFastAgreesWithProtojson(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	answered, valid := 0, 0
	for _, name := range domain.Commands() {
		for range 300 {
			msg, _ := domain.NewCommand(name)
			randomize(rng, msg.ProtoReflect(), 0)
			body, err := protojson.Marshal(msg)
			if err != nil {
				continue // invalid UTF-8 among the random strings
			}
			valid++
			if checkDecodeFast(t, name, body) {
				answered++
			}
			for range 5 {
				m := mutations[rng.IntN(len(mutations))]
				checkDecodeFast(t, name, []byte(m(rng, string(body))))
			}
		}
		for _, body := range []string{`{}`, ` { } `, `{"a"}`, `[]`, `null`, `{`, `}`, `{"":1}`, `{,}`} {
			checkDecodeFast(t, name, []byte(body))
		}
	}
	// The random strings hold escapes most of the time, so the share is
	// low here; what matters is that decodeFast answers at all.
	t.Logf("decodeFast answered %d of %d valid bodies", answered, valid)
	if answered == 0 {
		t.Fatalf("decodeFast answered none of %d valid bodies", valid)
	}
}

// TestDecodeFastReadsTheAPIExamples checks that the bodies clients send,
// such as the examples of docs/API.md, take the fast path.
func TestDecodeFastReadsTheAPIExamples(t *testing.T) {
	for name, body := range map[string]string{
		"AssignLicense":        `{"productId": "SPB", "userIds": ["alice", "bob"], "disabledPlans": ["SWAY"]}`,
		"RevokeAssignment":     `{"productId":"SPB","userIds":["u0001"]}`,
		"ChangeSeats":          `{"subscriptionId":"sub-SPB","seats":120}`,
		"PurchaseSubscription": `{"subscriptionId":"s1","productId":"SPB","seats":5,"channel":"CHANNEL_PARTNER"}`,
		"RequestLicense":       `{"requestId":"req-1","productId":"SPB","userIds":["u0002"],"message":"needed for the quarterly report"}`,
		"ApproveRequest":       `{"requestId":"req-1"}`,
		"DenyRequest":          `{"requestId":"req-1","message":"no seats left"}`,
	} {
		if !checkDecodeFast(t, name, []byte(body)) {
			t.Errorf("%s: %s did not take the fast path", name, body)
		}
	}
}

// FuzzDecodeFastAgreesWithProtojson: wherever decodeFast answers, it
// answers what protojson does.
func FuzzDecodeFastAgreesWithProtojson(f *testing.F) {
	names := domain.Commands()
	for i, s := range []string{
		`{"productId":"SPB","userIds":["alice","bob"],"disabledPlans":["SWAY"]}`,
		`{"subscriptionId":"s1","productId":"SPB","seats":5,"channel":"CHANNEL_PARTNER"}`,
		`{"userId":"zed","usageLocation":"FR","guest":true}`,
		`{"requestId":"r1","approvedUserIds":["alice"],"groupId":"sales"}`,
		`{"seats":-1}`, `{"seats":99999999999}`, `{"seats":-0}`, `{"guest":false}`,
	} {
		f.Add(uint8(i), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		if bytes.Count(body, []byte("{")) > 8 {
			return
		}
		checkDecodeFast(t, names[int(which)%len(names)], body)
	})
}

// TestEncodeCommandRoundTrips: what EncodeCommand writes, DecodeCommand
// reads back as the same command (escapes, an enum, lists and an empty
// command included), appended after what b held.
func TestEncodeCommandRoundTrips(t *testing.T) {
	for _, msg := range []proto.Message{
		&ledgerv1.RegisterUser{UserId: "zoë", DisplayName: "\"<Zoë & co>\"\u2028\n", Guest: true},
		&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: 5, Channel: ledgerv1.Channel_CHANNEL_PARTNER},
		&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{"a", "b"}, DisabledPlans: []string{"EXCHANGE_S_STANDARD"}},
		&ledgerv1.AssignLicense{},
	} {
		body, err := EncodeCommand([]byte("prefix"), msg)
		if err != nil {
			t.Fatalf("%T: %v", msg, err)
		}
		if !bytes.HasPrefix(body, []byte("prefix")) {
			t.Fatalf("%T: %q does not keep what b held", msg, body)
		}
		got := msg.ProtoReflect().New().Interface()
		if err := DecodeCommand(body[len("prefix"):], got); err != nil {
			t.Fatalf("%T: %s: %v", msg, body, err)
		}
		if !proto.Equal(msg, got) {
			t.Errorf("%T: %s decodes to %v, want %v", msg, body, got, msg)
		}
	}
}

// BenchmarkDecodeCommand decodes the bodies of the benchmark's command
// mix, as the API reads them (a new message each time).
func BenchmarkDecodeCommand(b *testing.B) {
	bodies := []struct{ name, body string }{
		{"AssignLicense", `{"productId":"POWER_BI_PRO","userIds":["u0042"]}`},
		{"RevokeAssignment", `{"productId":"POWER_BI_PRO","userIds":["u0001","u0002","u0003","u0004","u0005"]}`},
		{"ChangeSeats", `{"subscriptionId":"sub-SPB","seats":120}`},
		{"RequestLicense", `{"requestId":"req-1","productId":"SPB","userIds":["u0002"],"message":"needed for the quarterly report"}`},
		{"ApproveRequest", `{"requestId":"req-1"}`},
		{"PurchaseSubscription", `{"subscriptionId":"s1","productId":"SPB","seats":5,"channel":"CHANNEL_PARTNER"}`},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c := bodies[i%len(bodies)]
		msg, _ := domain.NewCommand(c.name)
		if err := DecodeCommand([]byte(c.body), msg); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestDecodeFastSetsTheGeneratedFields: every field of every command that
// decodeFast can read, it sets in the generated struct directly, not
// through protoreflect (which costs an allocation per value).
func TestDecodeFastSetsTheGeneratedFields(t *testing.T) {
	direct := 0
	for _, name := range domain.Commands() {
		msg, _ := domain.NewCommand(name)
		plan := decodePlanOf(msg.ProtoReflect())
		if !plan.ok {
			continue
		}
		for json, f := range plan.fields {
			fd := f.fd
			var readable bool
			switch fd.Kind() {
			case protoreflect.StringKind:
				readable = !fd.HasPresence() || fd.IsList()
			case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
				protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
				readable = !fd.HasPresence() && !fd.IsList()
			}
			if readable {
				direct++
				if f.goField < 0 {
					t.Errorf("%s.%s (%s) goes through protoreflect", name, json, fd.Kind())
				}
			}
		}
	}
	if direct == 0 {
		t.Fatal("no field is set directly")
	}
}

// TestDecodeFastReadsDynamicMessages: a message of the same type that is
// not the generated struct (dynamicpb) is set through protoreflect, with
// the same result.
func TestDecodeFastReadsDynamicMessages(t *testing.T) {
	body := []byte(`{"productId":"SPB","userIds":["alice","bob"],"disabledPlans":["SWAY"]}`)
	gen := &ledgerv1.AssignLicense{}
	if !decodeFast(body, gen) {
		t.Fatal("the generated message did not take the fast path")
	}
	dyn := dynamicpb.NewMessage(gen.ProtoReflect().Descriptor())
	if !decodeFast(body, dyn) {
		t.Fatal("the dynamic message did not take the fast path")
	}
	want := &ledgerv1.AssignLicense{}
	if err := protojson.Unmarshal(body, want); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(gen, want) || !proto.Equal(dyn, want) {
		t.Errorf("decoded %v and %v; want %v", gen, dyn, want)
	}
}
