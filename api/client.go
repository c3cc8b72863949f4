package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the caller's address for rate limits. Behind a
// reverse proxy every request comes from the proxy, so when the peer is a
// trusted proxy the address is taken from X-Forwarded-For: the right-most
// entry that is not itself a trusted proxy (entries further left are
// whatever the client chose to send).
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(trusted) == 0 || !isTrusted(host, trusted) {
		return host
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(h); err != nil {
			break // garbage: stop trusting the chain here
		}
		if !isTrusted(h, trusted) {
			return h
		}
	}
	return host
}

func isTrusted(addr string, trusted []netip.Prefix) bool {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
