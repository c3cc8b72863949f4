package api

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	cases := []struct {
		name, remote, xff string
		trusted           []netip.Prefix
		want              string
	}{
		{"no proxies trusted: header ignored", "203.0.113.9:5000", "198.51.100.1", nil, "203.0.113.9"},
		{"untrusted peer: header ignored", "203.0.113.9:5000", "198.51.100.1", proxies, "203.0.113.9"},
		{"trusted proxy: client from header", "10.1.2.3:5000", "198.51.100.1", proxies, "198.51.100.1"},
		{"spoofed left entries skipped", "10.1.2.3:5000", "1.2.3.4, 198.51.100.1", proxies, "198.51.100.1"},
		{"chain of proxies", "127.0.0.1:5000", "198.51.100.1, 10.9.9.9", proxies, "198.51.100.1"},
		{"garbage stops the chain", "10.1.2.3:5000", "198.51.100.1, not-an-ip", proxies, "10.1.2.3"},
		{"no header", "10.1.2.3:5000", "", proxies, "10.1.2.3"},
		{"IPv6 client", "10.1.2.3:5000", "2001:db8::1", proxies, "2001:db8::1"},
	}
	for _, c := range cases {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientAddr(r, c.trusted); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}
