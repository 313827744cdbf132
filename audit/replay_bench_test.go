package audit_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/audit"
	"github.com/licensing-ledger/ledger/audit/audittest"
	"github.com/licensing-ledger/ledger/domain/catalog"
	"github.com/licensing-ledger/ledger/events"
	v1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/proto"
)

// benchEvents is the size of the benchmarks' tenant.
const benchEvents = 100_000

var (
	benchOnce    sync.Once
	benchRecords []events.Record
)

// largeTenant returns a tenant of about 100,000 events written by the real
// command service: 2,000 users, four products, and licenses assigned and
// revoked 20 users at a time. It is built once per test binary.
func largeTenant(b *testing.B) []events.Record {
	benchOnce.Do(func() {
		s := audittest.NewScenario(tenant, audittest.StoryStart)
		const users = 2000
		for i := range users {
			s.Run(b, s.Admin(), &v1.RegisterUser{UserId: fmt.Sprintf("user%04d", i), UsageLocation: "US"})
		}
		products := []string{"SPB", "POWER_BI_PRO", "VISIOCLIENT", "O365_BUSINESS"}
		for _, p := range products {
			s.Run(b, s.Admin(), &v1.PurchaseSubscription{SubscriptionId: "sub-" + p, ProductId: p, Seats: users, Channel: v1.Channel_CHANNEL_DIRECT})
		}
		for i, n := 0, 0; n < benchEvents; i++ {
			batch := make([]string, 20)
			for j := range batch {
				batch[j] = fmt.Sprintf("user%04d", (i/2*20+j)%users)
			}
			p := products[(i/200)%len(products)]
			var cmd proto.Message = &v1.AssignLicense{ProductId: p, UserIds: batch}
			if i%2 == 1 {
				cmd = &v1.RevokeAssignment{ProductId: p, UserIds: batch[:10]}
			}
			n += len(s.Run(b, s.Admin(), cmd).Events)
		}
		benchRecords = s.Store.Records(tenant)
	})
	return benchRecords
}

// BenchmarkReplay100k rebuilds a 100,000-event tenant's state, as
// GET /state does: decode, check the hash chain, apply to the read models.
func BenchmarkReplay100k(b *testing.B) {
	recs := largeTenant(b)
	cat, end := catalog.Default(), time.Now().AddDate(10, 0, 0)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, err := audit.StateAsOf(audit.RecordsSource(recs), cat, tenant, end); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*len(recs))/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkVerify100k verifies the export of a 100,000-event tenant, as
// ledgerctl verify does offline.
func BenchmarkVerify100k(b *testing.B) {
	var buf bytes.Buffer
	enc := audit.NewEncoder(&buf)
	for _, r := range largeTenant(b) {
		if err := enc.Encode(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := enc.Flush(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	n := 0
	for b.Loop() {
		if _, err := audit.Verify(audit.NewDecoder(bytes.NewReader(buf.Bytes())), audit.VerifyOptions{}); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n*enc.Count())/b.Elapsed().Seconds(), "events/s")
}
