package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/ledger"
)

// outcome is how a command ended.
type outcome int

const (
	accepted outcome = iota
	refused          // the ledger said no, with a domain code
	failed           // the ledger could not answer (store unavailable, internal error)
)

// driver sends commands to the ledger, in process or over HTTP.
type driver interface {
	// execute sends the command; detail explains a refusal or a failure.
	execute(ctx context.Context, c command) (o outcome, detail string)
}

// inProcess calls the command handler directly.
type inProcess struct{ svc *ledger.Service }

func (d inProcess) execute(ctx context.Context, c command) (outcome, string) {
	_, err := d.svc.Execute(ctx, ledger.Command{Tenant: c.tenant.id, Principal: c.principal, Message: c.msg})
	if err == nil {
		return accepted, ""
	}
	var de *domain.Error
	if errors.As(err, &de) && de.Code != domain.CodeUnavailable && de.Code != domain.CodeInternal {
		return refused, fmt.Sprintf("%s: %s", de.Code, de.Detail)
	}
	return failed, err.Error()
}

// overHTTP posts commands to the API as a client application would: the
// protobuf JSON body, a bearer token, an idempotency key, and connections
// kept alive between requests.
type overHTTP struct {
	base   string
	client *http.Client
}

// newHTTPClient returns a client that keeps a connection per concurrent
// caller alive.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
			DisableCompression: true,
		},
	}
}

func (d overHTTP) execute(ctx context.Context, c command) (outcome, string) {
	body, err := protojson.Marshal(c.msg)
	if err != nil {
		return failed, err.Error()
	}
	url := d.base + "/v1/tenants/" + c.tenant.id + "/commands/" + domain.CommandName(c.msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return failed, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", events.NewULID())
	status, answer, err := d.do(req)
	switch {
	case err != nil:
		return failed, err.Error()
	case status == http.StatusOK:
		return accepted, ""
	case status >= 400 && status < 500:
		return refused, problemDetail(answer)
	}
	return failed, fmt.Sprintf("HTTP %d: %s", status, problemDetail(answer))
}

// do sends the request and reads the whole answer, so that the connection
// goes back to the pool.
func (d overHTTP) do(req *http.Request) (int, []byte, error) {
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// problemDetail returns the code and detail of a problem+json body.
func problemDetail(body []byte) string {
	var p struct {
		Code   string `json:"code"`
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &p) != nil {
		return string(body)
	}
	return p.Code + ": " + p.Detail
}
