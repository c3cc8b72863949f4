package strongroom

import (
	"context"
	"crypto/rand"
)

// A request's id and its client's address travel in its context, set once
// by the API, so every part that names the request (the log lines, the
// audit events, work done for it after the answer) reads the same values
// without each call passing them on. Work that no request started
// (housekeeping, a command-line rotation) carries neither.

// MaxRequestIDLen is the longest request id accepted from a client.
const MaxRequestIDLen = 64

// ValidRequestID reports whether id is a well-formed request id: 1 to
// MaxRequestIDLen characters, each an ASCII letter or digit, '.', '_' or
// '-'. Nothing else is ever echoed: no spaces, quotes, control characters
// or anything a log line, a header or a terminal could read as structure.
func ValidRequestID(id string) bool {
	if len(id) == 0 || len(id) > MaxRequestIDLen {
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

// NewRequestID returns a new request id: 128 random bits as 26 base32
// characters (crypto/rand.Text), which ValidRequestID accepts.
func NewRequestID() string { return rand.Text() }

type (
	requestIDKey  struct{}
	clientAddrKey struct{}
	clientKey     struct{}
)

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "" if none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithClientAddr returns ctx carrying the client's address, as audit
// events record it.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr returns the client address ctx carries, or "" if none.
func ClientAddr(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddrKey{}).(string)
	return addr
}

// WithClient returns ctx carrying the client as the per-address limits
// count it: an IPv4 address, or the /64 of an IPv6 one.
func WithClient(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, clientKey{}, key)
}

// Client returns the client ctx carries (WithClient), or "" if none.
func Client(ctx context.Context) string {
	key, _ := ctx.Value(clientKey{}).(string)
	return key
}
