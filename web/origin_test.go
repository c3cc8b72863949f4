package web

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

// Without Sec-Fetch-Site, a POST's Origin must name the request's host
// and a scheme it may have come with: https over TLS; http or https
// without it (a proxy may have ended TLS, and the server is told of no
// proxy's scheme).
func TestWebSameOriginComparesSchemeAndHost(t *testing.T) {
	for _, c := range []struct {
		tls    bool
		origin string
		want   bool
	}{
		{false, "", true}, // no browser another site can drive
		{false, "http://app.example", true},
		{false, "https://app.example", true},
		{false, "http://evil.example", false},
		{false, "https://app.example.evil.example", false},
		{false, "ftp://app.example", false},
		{false, "ws://app.example", false},
		{false, "null", false},
		{true, "https://app.example", true},
		{true, "http://app.example", false},
		{true, "ftp://app.example", false},
		{true, "https://evil.example", false},
	} {
		r := httptest.NewRequest("POST", "http://app.example/app/records", nil)
		if c.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := sameOrigin(r); got != c.want {
			t.Errorf("TLS %v, Origin %q: sameOrigin = %v, want %v", c.tls, c.origin, got, c.want)
		}
	}
}
