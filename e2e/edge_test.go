package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheRawDotDotPathIsNotFound sends the request as is, over a
// raw connection to the real ledgerd: it is 404 NotFound problem+json, not
// a 307 redirect to /v1/etc/passwd.
func TestTheRawDotDotPathIsNotFound(t *testing.T) {
	l := startLedgerd(t)
	conn, err := net.Dial("tcp", l.httpAddr)
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /v1/tenants/default/commands/../../../etc/passwd HTTP/1.1\r\nHost: ledger\r\n"+
		"Authorization: Bearer "+adminToken+"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(10*time.Second)))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusNotFound, resp.StatusCode, "%s", body)
	assert.Empty(t, resp.Header.Get("Location"))
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p struct{ Code, Detail string }
	require.NoError(t, json.Unmarshal(body, &p))
	assert.Equal(t, "NotFound", p.Code)
	assert.False(t, strings.Contains(p.Detail, "etc/passwd"), "the detail does not echo the path: %s", p.Detail)
	t.Logf("answer: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
}
