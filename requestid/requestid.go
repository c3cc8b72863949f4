// Package requestid names each request: the client's X-Request-Id when it
// is well-formed, else a new random id. The id travels in the request's
// context, and FromContext is the one way to read it: the access log,
// every log line made with the context (Logger), and the audit trail all
// take it from there, so they always agree.
package requestid

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
)

// Header is the request and response header that carries the id.
const Header = "X-Request-Id"

// LogKey is the key of the id in log lines.
const LogKey = "request_id"

// MaxLen is the longest id accepted from a client.
const MaxLen = 64

// Valid reports whether id is well-formed: 1 to MaxLen characters, each an
// ASCII letter or digit, '.', '_' or '-'. Nothing else is ever echoed: no
// spaces, quotes, control characters or anything a log line, a header or a
// terminal could read as structure.
func Valid(id string) bool {
	if len(id) == 0 || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// New returns a new id: 128 random bits as 26 base32 characters
// (crypto/rand.Text), which Valid accepts.
func New() string { return rand.Text() }

// Of returns the id of r: its X-Request-Id if r has exactly one and it is
// Valid, else a new one. A malformed id is replaced, never repaired.
func Of(r *http.Request) string {
	if v := r.Header.Values(Header); len(v) == 1 && Valid(v[0]) {
		return v[0]
	}
	return New()
}

type key struct{}

// NewContext returns ctx carrying id.
func NewContext(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// FromContext returns the id ctx carries, or "" if it carries none (work
// that no request started: housekeeping, a command-line rotation).
func FromContext(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

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
	if id := FromContext(ctx); id != "" {
		r.AddAttrs(slog.String(LogKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(as []slog.Attr) slog.Handler { return handler{h.Handler.WithAttrs(as)} }

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
