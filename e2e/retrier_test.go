package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// retrier sends commands the way a careful client does when the ledger may
// crash under it: a transport error or 503 Unavailable is sent again with
// the same Idempotency-Key until the ledger answers for good, or the
// context ends. It never fails a test itself, so that it can run on any
// goroutine; callers check the answers.
type retrier struct {
	client *http.Client
	// conflicts is how many Conflict answers are sent again too: a Conflict
	// can mean that the tenant kept changing while the command was decided.
	conflicts int
	// pause is the wait between attempts.
	pause time.Duration
}

// newRetrier returns a retrier with its own connections and a per-request
// time out, so that a request to a process that died never hangs.
func newRetrier(conflicts int) *retrier {
	return &retrier{
		client:    &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}},
		conflicts: conflicts,
		pause:     25 * time.Millisecond,
	}
}

// answer is the final answer to one command.
type answer struct {
	Status   int // 0 when the ledger never answered
	Code     string
	Detail   string
	Replayed bool
	Header   http.Header
	Events   []answeredEvent
	Attempts int
	Err      error // the last transport error, when never answered
	Raw      []byte
}

// answeredEvent is one event of a command's answer.
type answeredEvent struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Sequence uint64         `json:"sequence"`
	Data     map[string]any `json:"data"`
}

// Acked reports whether the command was acknowledged (200).
func (a answer) Acked() bool { return a.Status == http.StatusOK }

// Refused reports whether the ledger refused the command (a 4xx).
func (a answer) Refused() bool { return a.Status >= 400 && a.Status < 500 }

// IDs returns the ids of the answer's events.
func (a answer) IDs() []string {
	var ids []string
	for _, e := range a.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

// String describes the answer for test messages.
func (a answer) String() string {
	if a.Status == 0 {
		return fmt.Sprintf("no answer after %d attempts: %v", a.Attempts, a.Err)
	}
	return fmt.Sprintf("%d %s %s (attempt %d)", a.Status, a.Code, a.Detail, a.Attempts)
}

// send posts the command with the key until the ledger answers for good.
func (r *retrier) send(ctx context.Context, base, token, tenantID, name, body, key string) answer {
	var a answer
	conflicts := 0
	for attempt := 1; ; attempt++ {
		a = r.post(ctx, base, token, tenantID, name, body, key)
		a.Attempts = attempt
		retry := a.Status == 0 || a.Status == http.StatusServiceUnavailable
		if a.Code == "Conflict" && conflicts < r.conflicts {
			conflicts++
			retry = true
		}
		if !retry {
			return a
		}
		select {
		case <-ctx.Done():
			return a
		case <-time.After(r.pause):
		}
	}
}

// post sends the command once.
func (r *retrier) post(ctx context.Context, base, token, tenantID, name, body, key string) answer {
	url := fmt.Sprintf("%s/v1/tenants/%s/commands/%s", base, tenantID, name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return answer{Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{Err: err}
	}
	return decodeAnswer(resp, raw)
}

// decodeAnswer reads a command's answer or problem.
func decodeAnswer(resp *http.Response, raw []byte) answer {
	a := answer{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	var body struct {
		Replayed bool            `json:"replayed"`
		Events   []answeredEvent `json:"events"`
		Code     string          `json:"code"`
		Detail   string          `json:"detail"`
	}
	if err := json.NewDecoder(bytes.NewReader(raw)).Decode(&body); err != nil {
		a.Detail = fmt.Sprintf("unreadable body %q: %v", raw, err)
		return a
	}
	a.Replayed, a.Events, a.Code, a.Detail = body.Replayed, body.Events, body.Code, body.Detail
	return a
}
