package strongroom

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind classifies an error by what the caller can do about it. The HTTP
// layer maps each kind to one status code, in one table.
type Kind string

// The error kinds the service produces.
const (
	KindInvalid      Kind = "invalid"      // bad input: 422
	KindUnauthorized Kind = "unauthorized" // missing or wrong credentials: 401
	KindForbidden    Kind = "forbidden"    // authenticated, not allowed: 403
	KindNotFound     Kind = "not_found"    // no such thing for this caller: 404
	KindConflict     Kind = "conflict"     // already exists, or busy: 409
	KindLocked       Kind = "locked"       // too many attempts: 429 + Retry-After
	KindUnavailable  Kind = "unavailable"  // a dependency is down: 503
	KindInternal     Kind = "internal"     // a bug or an unexpected failure: 500
)

// HTTPStatus is the one table from error kinds to HTTP statuses, for the
// API and the web app alike; a kind it does not know is 500.
func (k Kind) HTTPStatus() int {
	switch k {
	case KindInvalid:
		return http.StatusUnprocessableEntity
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindLocked:
		return http.StatusTooManyRequests
	case KindUnavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// ErrOverload is the cause of a refusal for load: a full password-hashing
// pool, or one client over its share or rate. Such refusals are expected
// under attack, so they are not logged as failures.
var ErrOverload = errors.New("overloaded")

// Error is the one error type of the service. Message is safe to show to a
// client; Err is the cause, for the log only.
type Error struct {
	Kind    Kind
	Message string
	// Field names the offending input field of a KindInvalid error.
	Field string
	// RetryAfter tells a KindLocked caller when to try again.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = string(e.Kind)
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of the given kind whose client message is the
// formatted string. The message must never hold a secret.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a KindInvalid error that names the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure. Its cause goes to the log; clients
// see a generic message.
func Internal(op string, err error) *Error {
	return &Error{Kind: KindInternal, Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

// Unavailable wraps a failure of a dependency (store, key manager, mail).
func Unavailable(message string, err error) *Error {
	return &Error{Kind: KindUnavailable, Message: message, Err: err}
}

// ErrorKind returns the kind of err, KindInternal for errors that are not an
// *Error, and "" for nil.
func ErrorKind(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsKind reports whether err is an *Error of the given kind.
func IsKind(err error, kind Kind) bool {
	return err != nil && ErrorKind(err) == kind
}

// LockedUntil returns the KindLocked error of an account locked until t.
func LockedUntil(t, now time.Time) *Error {
	wait := t.Sub(now)
	if wait < time.Second {
		wait = time.Second
	}
	return &Error{Kind: KindLocked, Message: "too many failed attempts; try again later", RetryAfter: wait}
}
