// Package requestid adds each request's id to the log lines made while
// serving it: a handler that gives every line logged with a context that
// carries an id (strongroom.RequestID, set by the API) a request_id
// attribute. The id itself, its validation and its making are the root
// package's (request.go); the API takes it from X-Request-Id.
package requestid

import (
	"context"
	"log/slog"

	"github.com/strongroom/strongroom"
)

// LogKey is the key of the id in log lines.
const LogKey = "request_id"

// Logger returns l with its lines made with a context that carries an id
// given a request_id attribute. l is returned as is if it already does.
func Logger(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(handler); ok {
		return l
	}
	return slog.New(handler{l.Handler()})
}

// handler adds the context's id to each record.
type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := strongroom.RequestID(ctx); id != "" {
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
