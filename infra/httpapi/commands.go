package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/ledger"
	ledgerv1 "github.com/licensing-ledger/ledger/proto/ledgerv1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// CommandResponse is the answer to an accepted command.
type CommandResponse struct {
	CommandID string         `json:"commandId"`
	Replayed  bool           `json:"replayed"`
	Events    []EventSummary `json:"events"`
	Notice    *domain.Notice `json:"notice,omitempty"`
}

// EventSummary is one appended event: its id, type, tenant sequence, and
// its payload in the protobuf JSON mapping.
type EventSummary struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Sequence uint64          `json:"sequence"`
	Data     json.RawMessage `json:"data"`
}

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	p, err := s.principal(r)
	if err != nil {
		writeError(w, err)
		return
	}
	c, err := decodeCommand(w, r)
	if err != nil {
		writeError(w, err)
		return
	}
	c.Principal = p
	res, err := s.svc.Execute(r.Context(), c)
	if err != nil {
		writeError(w, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, commandResponse(res))
}

// decodeCommand reads the command named in the path from the body, in the
// protobuf JSON mapping; unknown fields and wrong types are refused.
func decodeCommand(w http.ResponseWriter, r *http.Request) (ledger.Command, error) {
	tenant, name := r.PathValue("tenant"), r.PathValue("command")
	if err := domain.CheckTenantID(tenant); err != nil {
		return ledger.Command{}, err
	}
	msg, ok := domain.NewCommand(name)
	if !ok {
		return ledger.Command{}, domain.Errorf(domain.CodeNotFound, "unknown command %q; the commands are listed in docs/API.md", name)
	}
	key := r.Header.Get("Idempotency-Key")
	if err := checkKey("Idempotency-Key", key); err != nil {
		return ledger.Command{}, err
	}
	corr := r.Header.Get("X-Correlation-Id")
	if err := checkKey("X-Correlation-Id", corr); err != nil {
		return ledger.Command{}, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return ledger.Command{}, domain.Errorf(domain.CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
		}
		return ledger.Command{}, domain.Errorf(domain.CodeValidationFailed, "reading the body: %v", err)
	}
	if err := DecodeCommand(body, msg); err != nil {
		return ledger.Command{}, err
	}
	return ledger.Command{Tenant: tenant, Message: msg, ID: key, CorrelationID: corr}, nil
}

// DecodeCommand parses a command body (protobuf JSON) into msg. An empty
// body is an empty command.
func DecodeCommand(body []byte, msg proto.Message) error {
	if len(body) == 0 {
		return nil
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(body, msg); err != nil {
		return domain.Errorf(domain.CodeValidationFailed, "the body is not a valid %s: %v", domain.CommandName(msg), err)
	}
	return nil
}

// checkKey refuses a client-chosen key that is too long or not printable.
func checkKey(header, v string) error {
	if len(v) > 128 {
		return domain.Errorf(domain.CodeValidationFailed, "%s is longer than 128 characters", header)
	}
	for _, r := range v {
		if r <= ' ' || r > '~' {
			return domain.Errorf(domain.CodeValidationFailed, "%s may hold only printable ASCII without spaces", header)
		}
	}
	return nil
}

func commandResponse(res ledger.Result) CommandResponse {
	out := CommandResponse{CommandID: res.CommandID, Replayed: res.Replayed, Events: []EventSummary{}, Notice: res.Notice}
	for _, e := range res.Events {
		out.Events = append(out.Events, summarize(e))
	}
	return out
}

func summarize(e *ledgerv1.Event) EventSummary {
	data, err := protojson.MarshalOptions{EmitUnpopulated: false}.Marshal(e.PayloadMessage())
	if err != nil || len(data) == 0 {
		data = []byte("{}")
	}
	return EventSummary{ID: e.GetId(), Type: e.TypeName(), Sequence: e.GetSequence(), Data: json.RawMessage(data)}
}
