package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/licensing-ledger/ledger/domain"
	"github.com/licensing-ledger/ledger/ledger"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CommandResponse is the answer to an accepted command. The server writes
// it without this type (see writeCommandResponse); clients may decode it.
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
	c, err := s.decodeCommand(w, r)
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
	writeCommandResponse(w, res)
}

// decodeCommand reads the command named in the path from the body, in the
// protobuf JSON mapping; unknown fields and wrong types are refused.
func (s *Server) decodeCommand(w http.ResponseWriter, r *http.Request) (ledger.Command, error) {
	tenant, name := r.PathValue("tenant"), r.PathValue("command")
	if err := domain.CheckTenantID(tenant); err != nil {
		return ledger.Command{}, err
	}
	msg, ok := newCommand(name)
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
	b := getBuf() // decoding copies what it keeps, so the body's buffer is reused
	defer putBuf(b)
	body, err := readBody(w, r, b)
	if err != nil {
		return ledger.Command{}, s.bodyError(r, err)
	}
	if err := DecodeCommand(body, msg); err != nil {
		return ledger.Command{}, err
	}
	return ledger.Command{Tenant: tenant, Message: msg, ID: key, CorrelationID: corr}, nil
}

// commandTypes maps each command's name to its message type, so that a
// request's command is made without NewCommand's registry lookup by full
// name (a concatenation and a lookup per request); the names are those
// NewCommand accepts.
var commandTypes = sync.OnceValue(func() map[string]protoreflect.MessageType {
	out := map[string]protoreflect.MessageType{}
	for _, name := range domain.Commands() {
		if msg, ok := domain.NewCommand(name); ok {
			out[name] = msg.ProtoReflect().Type()
		}
	}
	return out
})

// newCommand is domain.NewCommand.
func newCommand(name string) (proto.Message, bool) {
	mt, ok := commandTypes()[name]
	if !ok {
		return nil, false
	}
	return mt.New().Interface(), true
}

// readBody reads a command body into b's buffer, refusing one larger than
// MaxBodyBytes. A body that declares its length (the usual case) is read
// with one ReadFull of that length and one Read that finds its end, which
// net/http's body answers without reading the connection; one that does
// not declare it, declares more than MaxBodyBytes, or goes on past what it
// declared, is read (on) through http.MaxBytesReader as always, which
// refuses it with the same error once past the limit (and has the server
// close the connection after the answer).
func readBody(w http.ResponseWriter, r *http.Request, b *[]byte) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n >= MaxBodyBytes {
		return readBodyUpTo(w, r, b, 0)
	}
	if int64(cap(*b)) <= n {
		*b = make([]byte, 0, n+1)
	}
	buf := (*b)[:n+1]
	if _, err := io.ReadFull(r.Body, buf[:n]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF // nothing arrived of a body of n > 0 bytes
		}
		return nil, err
	}
	m, err := r.Body.Read(buf[n:])
	switch {
	case m == 0 && err == io.EOF:
		return buf[:n], nil
	case err == io.EOF:
		return buf[:n+int64(m)], nil
	case err != nil:
		return nil, err
	}
	*b = buf[:n+int64(m)]
	return readBodyUpTo(w, r, b, len(*b))
}

// readBodyUpTo reads the rest of the body after the had bytes of *b,
// through http.MaxBytesReader.
func readBodyUpTo(w http.ResponseWriter, r *http.Request, b *[]byte, had int) ([]byte, error) {
	body := bytes.NewBuffer((*b)[:had])
	_, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBodyBytes-int64(had)))
	*b = body.Bytes()
	return *b, err
}

// bodyError turns a failure to read a command body into a refusal with a
// stable detail. The error itself names socket addresses and the server's
// internals: it is logged, never sent.
func (s *Server) bodyError(r *http.Request, err error) error {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		return domain.Errorf(domain.CodePayloadTooLarge, "the body is larger than %d bytes", MaxBodyBytes)
	case errors.As(err, &netErr) && netErr.Timeout():
		s.log.Warn("a request body did not arrive in time", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return domain.Errorf(domain.CodeValidationFailed, "the request body did not arrive in time: send it whole, at once")
	case errors.Is(err, io.ErrUnexpectedEOF):
		s.log.Warn("a request body ended early", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		return domain.Errorf(domain.CodeValidationFailed, "the request body ended before its declared length (Content-Length or chunks)")
	}
	s.log.Warn("a request body could not be read", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
	return domain.Errorf(domain.CodeValidationFailed, "the request body could not be read")
}

// EncodeCommand appends the body of a command as DecodeCommand reads it:
// msg's protobuf JSON, compact, written as the API writes its answers'
// payloads (see appendMessage), or by protojson for messages that path
// leaves to it. Go clients of the API, the benchmark's among them, send
// it.
func EncodeCommand(b []byte, msg proto.Message) ([]byte, error) {
	if out, ok := appendMessage(b, msg.ProtoReflect()); ok {
		return out, nil
	}
	data, err := protojson.Marshal(msg)
	if err != nil {
		return b, err
	}
	out := bytes.NewBuffer(b)
	err = json.Compact(out, data) // protojson adds random spaces
	return out.Bytes(), err
}

// DecodeCommand parses a command body (protobuf JSON) into msg. An empty
// body is an empty command. The common flat bodies are read by decodeFast;
// protojson decides the others.
func DecodeCommand(body []byte, msg proto.Message) error {
	if len(body) == 0 {
		return nil
	}
	if decodeFast(body, msg) {
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
