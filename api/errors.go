package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
)

var installErrors sync.Once

// useSafeErrors makes huma's errors safe to show: huma echoes the offending
// input (a whole malformed body, password included) in each error's
// "value", and decoder messages quote bytes of the body. Both are dropped,
// and the detail names the offending fields. huma keeps this hook in a
// package variable, so it is set once per process.
func useSafeErrors() {
	installErrors.Do(func() {
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			m := &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg}
			var parts []string
			for _, err := range errs {
				if err == nil {
					continue
				}
				d := &huma.ErrorDetail{Message: "invalid value"}
				var ed huma.ErrorDetailer
				if errors.As(err, &ed) {
					src := ed.ErrorDetail()
					d.Location, d.Message = src.Location, src.Message
				}
				if status == http.StatusBadRequest && d.Location == "body" {
					d.Message = "the body is not valid JSON"
				}
				if status == http.StatusUnsupportedMediaType {
					d.Message = "the body must be JSON (Content-Type: application/json)" // never the type it was: input is not echoed
				}
				m.Errors = append(m.Errors, d)
				if d.Location != "" {
					parts = append(parts, d.Location+": "+d.Message)
				} else {
					parts = append(parts, d.Message)
				}
			}
			if len(parts) > 0 && status < 500 {
				m.Detail = msg + ": " + strings.Join(parts, "; ")
			}
			if status >= 500 {
				m.Errors = nil // a cause is for the log, not the client
			}
			return m
		}
	})
}

// httpError turns a service error into the client's answer. Internal
// errors are logged with their cause and answered with a generic message.
func httpError(ctx context.Context, log *slog.Logger, op string, err error) error {
	var e *strongroom.Error
	if !errors.As(err, &e) {
		e = strongroom.Internal(op, err)
	}
	status := e.Kind.HTTPStatus()
	switch {
	case errors.Is(err, strongroom.ErrOverload):
		// Refused for load: expected under attack, and counted in the
		// service's summary; a line per refusal would let a flood fill the log.
		log.DebugContext(ctx, "request refused for load", "op", op, "kind", string(e.Kind))
	case errors.Is(err, context.Canceled):
		// The client went away while the store or key manager was asked:
		// nothing failed on our side, and no one reads the answer.
		log.DebugContext(ctx, "request ended by the client", "op", op)
	case status >= 500:
		log.ErrorContext(ctx, "request failed", "op", op, "kind", string(e.Kind), "err", e.Error())
	}
	msg := e.Message
	if e.Kind == strongroom.KindInternal {
		msg = "internal error"
	}
	var out error
	if e.Field != "" {
		loc := "body." + e.Field
		if pathParams[e.Field] {
			loc = "path." + e.Field
		} else if queryParams[e.Field] {
			loc = "query." + e.Field
		}
		out = huma.NewError(status, msg, &huma.ErrorDetail{Location: loc, Message: msg})
		out.(*huma.ErrorModel).Detail = msg
	} else {
		out = huma.NewError(status, msg)
	}
	h := http.Header{}
	switch {
	case e.Kind == strongroom.KindLocked:
		h.Set("Retry-After", strconv.Itoa(int((e.RetryAfter+999_999_999)/1e9)))
	case e.Kind == strongroom.KindUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="strongroom"`)
	case e.Kind == strongroom.KindUnavailable:
		h.Set("Retry-After", "5")
	}
	if len(h) > 0 {
		return huma.ErrorWithHeaders(out, h)
	}
	return out
}

// pathParams are the fields that come from the URL path, not the body;
// queryParams those from its query.
var (
	pathParams  = map[string]bool{"id": true}
	queryParams = map[string]bool{"limit": true, "after": true, "before": true, "user": true, "type": true, "since": true}
)
