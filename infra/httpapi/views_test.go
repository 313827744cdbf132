package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/licensing-ledger/ledger/projections"
)

// fill sets every field of the value v points to at random, reflecting
// over its type so that a field added to a view later is covered too.
func fill(rng *rand.Rand, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(awkward[rng.IntN(len(awkward))])
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt([]int64{0, 1, -1, 42, 1 << 40}[rng.IntN(5)])
	case reflect.Bool:
		v.SetBool(rng.IntN(2) == 0)
	case reflect.Slice:
		switch rng.IntN(4) {
		case 0: // nil
			v.SetZero()
		case 1:
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		default:
			s := reflect.MakeSlice(v.Type(), 1+rng.IntN(3), 3)
			for i := range s.Len() {
				fill(rng, s.Index(i))
			}
			v.Set(s)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(randomTime(rng)))
			return
		}
		for i := range v.NumField() {
			fill(rng, v.Field(i))
		}
	default:
		panic("fill: add a case for " + v.Type().String())
	}
}

func randomTime(rng *rand.Rand) time.Time {
	switch rng.IntN(8) {
	case 0:
		return time.Time{}
	case 1:
		return time.Date(2026, 11, 21, 12, 30, 0, 0, time.FixedZone("CET", 3600))
	case 2:
		return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // MarshalJSON refuses it
	case 3:
		return time.Date(2026, 11, 21, 12, 30, 0, 0, time.Local)
	}
	return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).UTC()
}

// TestViewAnswersAreEncodingJSONs checks the hand-written answers of the
// Licenses page and the requests list against encoding/json over the map
// the handlers answered before.
func TestViewAnswersAreEncodingJSONs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	for round := range 3000 {
		tenant := awkward[rng.IntN(len(awkward))]
		var products []projections.ProductView
		var requests []projections.RequestView
		fill(rng, reflect.ValueOf(&products).Elem())
		fill(rng, reflect.ValueOf(&requests).Elem())
		for _, c := range []struct {
			answer any
			old    map[string]any
		}{
			{productsAnswer{Tenant: tenant, Products: products}, map[string]any{"tenant": tenant, "products": products}},
			{requestsAnswer{Tenant: tenant, Requests: requests}, map[string]any{"tenant": tenant, "requests": requests}},
		} {
			var want bytes.Buffer
			wantErr := json.NewEncoder(&want).Encode(c.old)
			got, err := encodeAnswer(nil, c.answer)
			if wantErr != nil {
				if err == nil {
					t.Fatalf("round %d: encoding/json refused %+v (%v); encodeAnswer did not", round, c.old, wantErr)
				}
				continue
			}
			if err != nil || !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("round %d: %v\n got %s\nwant %s", round, err, got, want.Bytes())
			}
		}
	}
}

func BenchmarkProductsAnswer(b *testing.B) {
	var products []projections.ProductView
	for _, p := range []string{"O365_BUSINESS", "POWER_BI_PRO", "SPB", "VISIOCLIENT"} {
		products = append(products, projections.ProductView{ProductID: p, Name: "Microsoft 365 Business Premium", Total: 100, Assigned: 57, Available: 43,
			Subscriptions: []projections.SubscriptionView{{SubscriptionID: "sub-" + p, ProductID: p, Seats: 100, Channel: "direct", State: "active"}}})
	}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf, _ = encodeAnswer(buf[:0], productsAnswer{Tenant: "tenant042", Products: products})
	}
}
