package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/licensing-ledger/ledger/checkpoint"
)

// signedCheckpoint fetches and verifies the tenant's latest checkpoint.
func (a *auditServer) signedCheckpoint(t *testing.T) (*checkpoint.Checkpoint, *checkpoint.Verifiers) {
	t.Helper()
	resp, key := a.get(t, "", "/v1/checkpoint-key")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the verifier key is public")
	keys, err := checkpoint.NewVerifiers(strings.TrimSpace(string(key)))
	require.NoError(t, err)
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/checkpoint")
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	cp, err := keys.Open(body)
	require.NoError(t, err)
	return cp, keys
}

func TestTheLatestCheckpointCoversTheWholeHistory(t *testing.T) {
	a := newAuditServer(t, nil)
	cp, _ := a.signedCheckpoint(t)
	recs := a.Scenario.Store.Records(tenant)
	assert.Equal(t, uint64(len(recs)), cp.Size)
	assert.Equal(t, "licensing-ledger/ledger/contoso", cp.Origin)
	var ids []string
	var leaves [][]byte
	for _, r := range recs {
		ids, leaves = append(ids, r.ID), append(leaves, checkpoint.LeafHash(r.Data))
	}
	assert.NoError(t, checkpoint.CheckLeaves(ids, leaves, cp))

	resp, _ := a.get(t, licAdmToken, "/v1/tenants/contoso/checkpoint")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the auditors' roles")
	resp, body := a.get(t, "", "/v1/tenants/contoso/checkpoint")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, string(body))
}

func TestInclusionProofsOfEveryEventVerifyOffline(t *testing.T) {
	a := newAuditServer(t, nil)
	cp, _ := a.signedCheckpoint(t)
	for i, r := range a.Scenario.Store.Records(tenant) {
		resp, body := a.get(t, readerToken, "/v1/tenants/contoso/proofs/inclusion?event="+r.ID)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		p, err := checkpoint.DecodeInclusion(body)
		require.NoError(t, err)
		assert.Equal(t, uint64(i), p.Index)
		assert.Equal(t, r.Data, p.Data)
		require.NoError(t, p.Verify(cp), "event %d", i+1)
	}
	// At a smaller size, against the root of that size.
	resp, body := a.get(t, readerToken, "/v1/tenants/contoso/proofs/inclusion?size=58&event="+a.Scenario.Store.Records(tenant)[57].ID)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))

	for query, want := range map[string]string{
		"":                         "name the event",
		"?event=nope":              "is not among the first 58 events",
		"?event=x&size=0":          "size must be a tree size",
		"?event=x&size=99":         "holds 58 events, not 99",
		"?event=x&size=notanumber": "size must be a tree size",
	} {
		resp, body := a.get(t, readerToken, "/v1/tenants/contoso/proofs/inclusion"+query)
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, query)
		assert.Contains(t, string(body), want, query)
	}
}

func TestConsistencyProofsFromEveryKeptSize(t *testing.T) {
	a := newAuditServer(t, nil)
	latest, _ := a.signedCheckpoint(t)
	full := checkpoint.NewFullTree()
	for _, r := range a.Scenario.Store.Records(tenant) {
		full.Append(checkpoint.LeafHash(r.Data))
	}
	for from := uint64(1); from <= latest.Size; from++ {
		root, err := full.RootAt(from)
		require.NoError(t, err)
		kept := &checkpoint.Checkpoint{Origin: latest.Origin, Size: from, Root: root}
		resp, body := a.get(t, readerToken, fmt.Sprintf("/v1/tenants/contoso/proofs/consistency?from=%d", from))
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		p, err := checkpoint.DecodeConsistency(body)
		require.NoError(t, err)
		require.NoError(t, p.Verify(kept, latest), "from %d", from)
	}
	for query, want := range map[string]string{
		"":                "from must be a tree size",
		"?from=9&to=3":    "larger than to",
		"?from=1&to=1000": "holds 58 events, not 1000",
	} {
		resp, body := a.get(t, readerToken, "/v1/tenants/contoso/proofs/consistency"+query)
		assert.NotEqual(t, http.StatusOK, resp.StatusCode, query)
		assert.Contains(t, string(body), want, query)
	}
}
