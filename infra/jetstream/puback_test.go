package jetstream

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// pubAckSamples are replies the server sends, and near misses.
var pubAckSamples = []string{
	`{"stream":"LEDGER_LOG","seq":42}`,
	`{"stream":"LEDGER_LOG","domain":"hub","seq":18446744073709551615,"duplicate":true}`,
	`{"stream":"LEDGER_LOG","seq":7,"duplicate":false,"count":3,"batch":"b1"}`,
	`{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 5"},"stream":"LEDGER_LOG","seq":0}`,
	`{"stream":"LEDGER_LOG","seq":18446744073709551616}`,
	`{"stream":"LED\u0047ER","seq":1}`,
	`{"SEQ":3}`, `{"Duplicate":true,"seq":1}`, `{"seq":01}`, `{"seq":1.5}`, `{"seq":-1}`,
	`{"seq":null}`, `{"seq":1,}`, `{"seq":1}x`, ` {"seq":1}`, `{"seq" : 1}`, `{}`, `[]`, ``,
	`{"seq":"1"}`, `{"stream":"LEDGER_LOG"`, `{"seq":1,"seq":2}`, `{"duplicate":tru}`,
}

// TestDecodePubAck: the hand-written reader agrees with encoding/json on
// every reply it accepts, and hands it the others.
func TestDecodePubAck(t *testing.T) {
	for _, sample := range pubAckSamples {
		requireSameAsJSON(t, []byte(sample))
	}
	resp, ok := scanPubAck([]byte(pubAckSamples[1]))
	require.True(t, ok)
	require.Equal(t, pubResponse{Seq: 1<<64 - 1, Duplicate: true}, resp)
	_, ok = scanPubAck([]byte(pubAckSamples[3]))
	require.False(t, ok, "errors go to encoding/json")
}

// FuzzDecodePubAck checks the agreement on any input.
func FuzzDecodePubAck(f *testing.F) {
	for _, sample := range pubAckSamples {
		f.Add([]byte(sample))
	}
	f.Fuzz(requireSameAsJSON)
}

// requireSameAsJSON requires decodePubAck to read data as encoding/json
// does.
func requireSameAsJSON(t *testing.T, data []byte) {
	var want pubResponse
	wantErr := json.Unmarshal(data, &want)
	got, err := decodePubAck(data)
	if wantErr != nil {
		require.Error(t, err, "%q", data)
		return
	}
	require.NoError(t, err, "%q", data)
	require.Equal(t, want, got, "%q", data)
}

// BenchmarkDecodePubAck reads the usual acknowledgement.
func BenchmarkDecodePubAck(b *testing.B) {
	data := []byte(`{"stream":"LEDGER_LOG","seq":1234567}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodePubAck(data); err != nil {
			b.Fatal(err)
		}
	}
}
