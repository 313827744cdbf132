package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/events"
	"github.com/licensing-ledger/ledger/infra/httpapi"
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
// protobuf JSON body, a bearer token, a new idempotency key per command,
// and connections kept alive between requests (see leanClient).
type overHTTP struct{ client *leanClient }

// newOverHTTP returns the driver of the API through the client.
func newOverHTTP(client *leanClient) overHTTP { return overHTTP{client: client} }

func (d overHTTP) execute(ctx context.Context, c command) (outcome, string) {
	var buf [512]byte
	body, err := httpapi.EncodeCommand(buf[:0], c.msg)
	if err != nil {
		return failed, err.Error()
	}
	key := events.NewULID()
	path := "/v1/tenants/" + c.tenant.id + "/commands/" + domain.CommandName(c.msg)
	headers := [...]header{{"Authorization", "Bearer " + c.token}, {"Content-Type", "application/json"}, {"Idempotency-Key", key}}
	var o outcome
	var detail string
	err = d.client.do(ctx, "POST", path, headers[:], body, func(status int, answer []byte) error {
		switch {
		case status == http.StatusOK:
			o, detail = checkAnswer(answer, key)
		case status >= 400 && status < 500:
			o, detail = refused, problemDetail(answer)
		default:
			o, detail = failed, fmt.Sprintf("HTTP %d: %s", status, problemDetail(answer))
		}
		return nil
	})
	if err != nil {
		return failed, err.Error()
	}
	return o, detail
}

// checkAnswer checks the answer to an accepted command: one JSON object
// that starts with the command's id (the idempotency key) and says that it
// was not replayed, each command having a new key. (A full parse would
// cost the benchmark's process as much as the server's encoding does; the
// server's encoding is checked against encoding/json in httpapi's tests.)
func checkAnswer(answer []byte, key string) (outcome, string) {
	prefix := `{"commandId":"` + key + `","replayed":false,"events":[`
	if !bytes.HasPrefix(answer, []byte(prefix)) || !bytes.HasSuffix(answer, []byte("}\n")) {
		return failed, "HTTP 200 with an unexpected answer: " + truncate(string(answer), 120)
	}
	return accepted, ""
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
