package api

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the caller's key for the per-address rate limits (see
// limitKey). Behind a reverse proxy every request comes from the proxy, so
// when the peer is a trusted proxy the address is taken from
// X-Forwarded-For: the right-most entry that is not itself a trusted proxy
// (entries further left are whatever the client chose to send).
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	return limitKey(peerOrForwarded(r, trusted))
}

// limitKey is what one client is counted as: an IPv4 address, or the /64
// of an IPv6 address, since one subscriber is usually given a whole /64
// and can pick any address in it for each request. An IPv4 address mapped
// into IPv6 counts as the IPv4 address; anything unparsable as itself.
func limitKey(host string) string {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	return netip.PrefixFrom(a, 64).Masked().String()
}

// auditAddr is the client's address as audit events record it: an IP
// address in its canonical form (an IPv4 address mapped into IPv6 as the
// IPv4 address, no zone), or, should the peer not be one, nothing rather
// than text no one checked.
func auditAddr(host string) string {
	a, err := netip.ParseAddr(host)
	if err != nil {
		return ""
	}
	return a.Unmap().WithZone("").String()
}

func peerOrForwarded(r *http.Request, trusted []netip.Prefix) string {
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
	a = a.Unmap().WithZone("") // a zoned address is never inside a prefix
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
