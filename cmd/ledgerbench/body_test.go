package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/licensing-ledger/ledger/infra/httpapi"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
)

// TestCommandBodyIsProtojsons checks the bodies the clients send
// (httpapi.EncodeCommand) against
// protojson's, compacted, for the whole mix and for messages the direct
// path leaves to protojson.
func TestCommandBodyIsProtojsons(t *testing.T) {
	models := make([]*tenantModel, 4)
	for i := range models {
		models[i] = newTenantModel("tenant00"+string(rune('0'+i)), 200)
		for p := range benchProducts {
			models[i].seats[p] = 100
		}
	}
	c := newClient(1, models)
	msgs := []proto.Message{
		&ledgerv1.PurchaseSubscription{SubscriptionId: "s1", ProductId: "SPB", Seats: 5, Channel: ledgerv1.Channel_CHANNEL_PARTNER},
		&ledgerv1.RegisterUser{UserId: "zoë", DisplayName: `"quoted"`, Guest: true},
		&ledgerv1.AssignLicense{ProductId: "SPB", UserIds: []string{}},
	}
	for range 2000 {
		cmd := c.next()
		msgs = append(msgs, cmd.msg)
		cmd.accepted()
	}
	for _, m := range msgs {
		got, err := httpapi.EncodeCommand(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		want, err := protojson.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, compact.Bytes()) && !bytes.Equal(got, want) {
			t.Fatalf("%T: body %s; protojson %s", m, got, want)
		}
	}
}
