package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable error code. The set is small and shared by every layer:
// the HTTP layer maps each code to a status and writes it in problem+json
// bodies, so clients can branch on it. Domain refusals use the names license
// administrators know from the admin center.
type Code string

// The codes. Add one only when a client would act differently on it.
const (
	CodeValidationFailed        Code = "ValidationFailed" // the input is malformed or out of range
	CodeUnauthorized            Code = "Unauthorized"     // no or unknown credentials
	CodeForbidden               Code = "Forbidden"        // the principal lacks a role
	CodeNotFound                Code = "NotFound"         // a named user, group, product, ... does not exist
	CodeConflict                Code = "Conflict"         // the request contradicts the current state
	CodeCountViolation          Code = "CountViolation"   // not enough seats (A3)
	CodeMutuallyExclusive       Code = "MutuallyExclusiveViolation"
	CodeDependency              Code = "DependencyViolation"
	CodeProhibitedUsageLocation Code = "ProhibitedInUsageLocationViolation"
	CodePayloadTooLarge         Code = "PayloadTooLarge"
	CodeUnavailable             Code = "Unavailable" // the event store cannot be reached; retry with the same Idempotency-Key
	CodeDamaged                 Code = "Damaged"     // the tenant's stored history does not verify; an operator must restore it
	CodeInternal                Code = "Internal"
)

// Error is the ledger's error: a code, a detail a person can act on, and, for
// commands about several users, the reason for each user it affects (A1).
type Error struct {
	Code       Code
	Detail     string
	Violations []Violation
}

// Violation is one user's (or one item's) part of a refusal.
type Violation struct {
	Subject string `json:"subject"` // usually a user id
	Code    Code   `json:"code"`
	Detail  string `json:"detail"`
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Detail)
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Subject + ": " + v.Detail
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Detail, strings.Join(parts, "; "))
}

// Errorf returns an *Error with a formatted detail.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors that are not an
// *Error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// violationsError folds per-user violations into one refusal. Its code is the
// code the violations share, or the first one's when they differ.
func violationsError(action string, vs []Violation) error {
	if len(vs) == 0 {
		return nil
	}
	if len(vs) == 1 {
		detail := vs[0].Detail
		if !strings.Contains(detail, vs[0].Subject) {
			detail = vs[0].Subject + ": " + detail
		}
		return &Error{Code: vs[0].Code, Detail: detail, Violations: vs}
	}
	return &Error{
		Code:       vs[0].Code,
		Detail:     fmt.Sprintf("%s refused for %d users; nothing was changed", action, len(vs)),
		Violations: vs,
	}
}
