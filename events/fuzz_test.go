package events

import (
	"testing"

	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// FuzzDecode feeds arbitrary bytes to the event decoder: it never panics, and
// whatever it accepts encodes back to bytes that decode to the same event.
func FuzzDecode(f *testing.F) {
	e, _ := ledgerv1.NewEvent(&ledgerv1.LicenseAssigned{UserId: "alice", ProductId: "SPB", DisabledPlans: []string{"SWAY"}})
	e.Id, e.Tenant, e.Sequence, e.Time, e.PrevHash = "01M7ZRF4PP5JE63E5PT7HBHNKS", "contoso", 7, timestamppb.Now(), Hash([]byte("x"))
	data, _ := Encode(e)
	f.Add(data)
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := Decode(data)
		if err != nil {
			return
		}
		_ = e.TypeName()
		again, err := Encode(e)
		if err != nil {
			t.Fatalf("re-encoding a decoded event: %v", err)
		}
		e2, err := Decode(again)
		if err != nil || !proto.Equal(e, e2) {
			t.Fatalf("a decoded event does not survive re-encoding: %v", err)
		}
	})
}
