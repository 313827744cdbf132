package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/licensing-ledger/ledger/domain"
)

// statuses maps each error code to its HTTP status. Domain refusals about
// the tenant's current state are 409: the same request may succeed later.
var statuses = map[domain.Code]int{
	domain.CodeValidationFailed:        http.StatusBadRequest,
	domain.CodeUnauthorized:            http.StatusUnauthorized,
	domain.CodeForbidden:               http.StatusForbidden,
	domain.CodeNotFound:                http.StatusNotFound,
	domain.CodeConflict:                http.StatusConflict,
	domain.CodeCountViolation:          http.StatusConflict,
	domain.CodeMutuallyExclusive:       http.StatusConflict,
	domain.CodeDependency:              http.StatusConflict,
	domain.CodeProhibitedUsageLocation: http.StatusConflict,
	domain.CodePayloadTooLarge:         http.StatusRequestEntityTooLarge,
	domain.CodeUnavailable:             http.StatusServiceUnavailable,
	domain.CodeDamaged:                 http.StatusInternalServerError,
	domain.CodeInternal:                http.StatusInternalServerError,
}

// Status returns the HTTP status of an error code.
func Status(c domain.Code) int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Problem is an RFC 9457 problem details body, with the ledger's stable
// code and, for bulk commands, the reason for each user.
type Problem struct {
	Type       string             `json:"type"`
	Title      string             `json:"title"`
	Status     int                `json:"status"`
	Code       domain.Code        `json:"code"`
	Detail     string             `json:"detail"`
	Violations []domain.Violation `json:"violations,omitempty"`
}

// retryAfter is the Retry-After of a 503, in seconds: the store is usually
// back within seconds (a reconnection, space freed), and a client that
// retries with the same Idempotency-Key loses nothing by waiting.
const retryAfter = "2"

// writeError writes err as application/problem+json.
func writeError(w http.ResponseWriter, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		de = &domain.Error{Code: domain.CodeInternal, Detail: "internal error"}
	}
	status := Status(de.Code)
	p := Problem{
		Type: "urn:ledger:problem:" + string(de.Code), Title: http.StatusText(status), Status: status,
		Code: de.Code, Detail: de.Detail, Violations: de.Violations,
	}
	switch de.Code {
	case domain.CodeUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="ledger"`)
	case domain.CodeUnavailable:
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as a JSON body, as json.Encoder writes it, encoded
// first into a pooled buffer (by hand for the answers that can, see
// answerAppender) so that the answer goes out with its Content-Length in
// one write rather than in chunks, and a value that fails to encode is a
// 500 problem rather than a 200 with a truncated body; the encoding error
// is logged, not sent.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	b := getBuf()
	defer putBuf(b)
	out, err := encodeAnswer((*b)[:0], v)
	if err != nil {
		s.log.Error("encoding an answer failed", "type", fmt.Sprintf("%T", v), "err", err)
		writeError(w, domain.Errorf(domain.CodeInternal, "internal error: the answer could not be encoded"))
		return
	}
	*b = out
	writeBody(w, status, "application/json", out)
}

// WriteProblem writes err as application/problem+json, as the API does:
// for handlers in front of it (ledgerd's, while it starts).
func WriteProblem(w http.ResponseWriter, err error) { writeError(w, err) }
