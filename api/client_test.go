package api

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/strongroom/strongroom/ratelimit"
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
		{"IPv6 client behind a proxy: its /64", "10.1.2.3:5000", "2001:db8:0:7:1:2:3:4", proxies, "2001:db8:0:7::/64"},
		{"IPv6 peer: its /64", "[2001:db8::1]:5000", "", nil, "2001:db8::/64"},
		{"IPv6 peer with a zone", "[fe80::1%eth0]:5000", "", nil, "fe80::/64"},
		{"IPv4-mapped peer: the IPv4 address", "[::ffff:192.0.2.7]:5000", "", nil, "192.0.2.7"},
		{"IPv6 proxy, IPv4 client", "[2001:db8::1]:5000", "198.51.100.1", []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}, "198.51.100.1"},
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

// Two addresses in one IPv6 /64 share one budget; two /64s, and two IPv4
// addresses, have one each.
func TestIPv6CountedPerSlash64(t *testing.T) {
	l := ratelimit.New(time.Hour, 3, 100, nil)
	spend := func(remote string) (allowed int) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = remote
		for i := 0; i < 3; i++ {
			if ok, _ := l.Allow(clientAddr(r, nil)); ok {
				allowed++
			}
		}
		return allowed
	}
	cases := []struct {
		remote string
		want   int
	}{
		{"[2001:db8:1:2::1]:1000", 3},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1001", 0}, // same /64: budget spent
		{"[2001:db8:1:3::1]:1002", 3},                  // the next /64
		{"192.0.2.1:1003", 3},
		{"192.0.2.2:1004", 3}, // IPv4: per address
	}
	for _, c := range cases {
		if got := spend(c.remote); got != c.want {
			t.Errorf("%s: %d of 3 allowed, want %d", c.remote, got, c.want)
		}
	}
}
