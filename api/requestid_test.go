package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
)

// A request's single well-formed X-Request-Id is kept; anything else is
// replaced by a new id. (Which ids are well-formed: the root package's
// TestValidRequestID.)
func TestRequestID(t *testing.T) {
	cases := []struct {
		name   string
		values []string // the request's X-Request-Id headers
		kept   bool
	}{
		{"uuid", []string{"3f2b8c1e-7d4a-4e2b-9c1a-0b5d6e7f8a9b"}, true},
		{"64 characters", []string{strings.Repeat("a", 64)}, true},
		{"none", nil, false},
		{"empty", []string{""}, false},
		{"65 characters", []string{strings.Repeat("a", 65)}, false},
		{"CRLF and a header", []string{"abc\r\nSet-Cookie: x=1"}, false},
		{"two headers", []string{"abc", "def"}, false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header[RequestIDHeader] = c.values
		got := requestID(r)
		if kept := len(c.values) > 0 && got == c.values[0]; kept != c.kept {
			t.Errorf("%s: requestID = %q, kept %v, want kept %v", c.name, got, kept, c.kept)
		}
		if !strongroom.ValidRequestID(got) {
			t.Errorf("%s: requestID = %q, which is not valid", c.name, got)
		}
	}
}
