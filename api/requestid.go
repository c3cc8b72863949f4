package api

import (
	"net/http"

	"github.com/strongroom/strongroom"
)

// RequestIDHeader is the request and response header that carries the
// request's id.
const RequestIDHeader = "X-Request-Id"

// requestID returns the id of r: its X-Request-Id if r has exactly one and
// it is well-formed (strongroom.ValidRequestID), else a new one. A
// malformed id is replaced, never repaired.
func requestID(r *http.Request) string {
	if v := r.Header.Values(RequestIDHeader); len(v) == 1 && strongroom.ValidRequestID(v[0]) {
		return v[0]
	}
	return strongroom.NewRequestID()
}
