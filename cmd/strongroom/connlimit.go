package main

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// limitListener caps the connections open at once from one client
// address: an IPv4 address, or an IPv6 /64 (one host's usual share, which
// it can fill with addresses at will). A connection beyond the cap gets a
// short 503 and is closed at once, before any request is read, so one
// client cannot hold every connection the server would keep. Connections
// from trusted reverse proxies are not capped: they carry many clients,
// and the proxy is where those are limited.
type limitListener struct {
	net.Listener
	max    int
	exempt []netip.Prefix

	mu   sync.Mutex
	open map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max int, exempt []netip.Prefix) net.Listener {
	if max <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, max: max, exempt: exempt, open: map[netip.Addr]int{}}
}

// refusal is the whole answer to a connection over the cap.
var refusal = func() []byte {
	body := `{"title":"Service Unavailable","status":503,"detail":"too many connections from this address"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 5\r\n" +
		"Connection: close\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// Accept returns the next connection within its address's cap.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		key, ok := l.key(c.RemoteAddr())
		if !ok {
			return c, nil
		}
		l.mu.Lock()
		if l.open[key] >= l.max {
			l.mu.Unlock()
			// A fresh socket takes these few bytes at once; the deadline
			// only guards the accept loop.
			_ = c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = c.Write(refusal)
			_ = c.Close()
			continue
		}
		l.open[key]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, key: key}, nil
	}
}

// key is the address a connection counts against; false if it is not
// capped.
func (l *limitListener) key(a net.Addr) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}, false
	}
	ip := ap.Addr().Unmap()
	for _, p := range l.exempt {
		if p.Contains(ip) {
			return netip.Addr{}, false
		}
	}
	if ip.Is6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	return ip, true
}

func (l *limitListener) release(key netip.Addr) {
	l.mu.Lock()
	if l.open[key]--; l.open[key] <= 0 {
		delete(l.open, key)
	}
	l.mu.Unlock()
}

// limitedConn gives its place back when closed (once).
type limitedConn struct {
	net.Conn
	l    *limitListener
	key  netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.key) })
	return c.Conn.Close()
}
