package audit

import "context"

type clientKey struct{}

// WithClient returns ctx carrying the client's address, for the events
// recorded while serving its request. The API sets it, as it sets the
// request id, so the service need not pass it to every call.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientFrom returns the client address ctx carries, or "" if none (work
// that no request started).
func ClientFrom(ctx context.Context) string {
	addr, _ := ctx.Value(clientKey{}).(string)
	return addr
}
