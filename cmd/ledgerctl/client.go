package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// client talks to ledgerd's API.
type client struct {
	base   string
	token  string
	tenant string
	http   *http.Client
}

func newClient(c *common) *client {
	return &client{base: strings.TrimRight(c.server, "/"), token: c.token, tenant: c.tenant, http: c.httpClient()}
}

// httpClient is the HTTP client of every command: it trusts --ca beside
// the system's roots. A CA file that does not load leaves the system's
// roots, and the handshake then says whom it did not trust.
func (c *common) httpClient() *http.Client {
	if c.ca == "" {
		return &http.Client{}
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if pem, err := os.ReadFile(c.ca); err == nil {
		pool.AppendCertsFromPEM(pem)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// get sends GET /v1/tenants/{tenant}/{path}?query and returns the answer if
// it is a success; the caller closes its body. A refusal becomes an error
// that says what the server said.
func (c *client) get(ctx context.Context, path string, query url.Values) (*http.Response, error) {
	u := c.base + "/v1/tenants/" + url.PathEscape(c.tenant) + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach ledgerd at %s (is it running? see --server): %w", c.base, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, refusal(resp)
}

// refusal describes an answer that is not a success, from its problem
// details when it has them.
func refusal(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") && json.Unmarshal(body, &p) == nil {
		return fmt.Errorf("the server answered %s: %s: %s", resp.Status, p.Code, p.Detail)
	}
	return fmt.Errorf("the server answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
}
