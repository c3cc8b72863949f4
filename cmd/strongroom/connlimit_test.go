package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom/service"
)

// dialFrom opens a TCP connection to addr from the loopback address src
// (any 127.x.y.z is this machine).
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// healthz sends one request on c and returns the status line.
func healthz(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return "write: " + err.Error()
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return "read: " + err.Error()
	}
	res.Body.Close()
	return res.Status
}

// One address gets at most STRONGROOM_MAX_CONNS_PER_ADDR connections at
// once: the next is answered 503 and closed, while another address is
// still served, and a closed connection gives its place back.
func TestConnectionCapPerAddress(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.MaxConnsPerAddr = 3
	s := startServer(t, cfg)
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c := dialFrom(t, "127.0.0.2", s.Addr)
		if st := healthz(t, c); st != "200 OK" {
			t.Fatalf("connection %d within the cap: %s", i, st)
		}
		held = append(held, c)
	}
	over := dialFrom(t, "127.0.0.2", s.Addr)
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(over) // without sending anything: the answer, then EOF
	if err != nil || !bytes.HasPrefix(b, []byte("HTTP/1.1 503 ")) || !bytes.Contains(b, []byte("too many connections from this address")) {
		t.Fatalf("a connection over the cap got %q, %v; want a 503 and the end", b, err)
	}
	if st := healthz(t, dialFrom(t, "127.0.0.3", s.Addr)); st != "200 OK" {
		t.Fatalf("another address: %s", st)
	}
	if st := healthz(t, held[0]); st != "200 OK" {
		t.Fatalf("a held connection: %s", st)
	}
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := healthz(t, dialFrom(t, "127.0.0.2", s.Addr))
		if st == "200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after closing one, a new connection: %s", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that asks for a long list and never reads it is cut off once
// the write timeout has passed, instead of holding the connection and the
// answer's buffers for as long as it likes.
func TestSlowReaderIsCutOff(t *testing.T) {
	// Not parallel: writingList reads every goroutine's stack in the process: another test's list would count.
	cfg := testConfig(t, t.TempDir())
	// Every request of this server has this long to be answered: the
	// registration and login too, which under a loaded test run (another
	// package, the Compose stack's builds) took over a second.
	cfg.WriteTimeout = 3 * time.Second
	cfg.MaxBytesPerUser = 64 << 20
	s := startServer(t, cfg)
	s.register("slow", seedPassword)
	tok := s.login("slow", seedPassword)
	u, err := s.Store.UserByUsername(context.Background(), "slow")
	if err != nil {
		t.Fatal(err)
	}
	// About 16 MB of answer: more than the socket buffers hold.
	value := strings.Repeat("v", 16000)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 125; i++ {
				if _, err := s.Service.CreateRecord(context.Background(), &service.Principal{UserID: u.ID}, "note", value); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c := dialFrom(t, "127.0.0.1", s.Addr)
	c.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(c, "GET /sensitive-data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+tok+"\r\n\r\n")
	// The server fills the socket buffers, then waits on the client...
	if !waitFor(5*time.Second, func() bool { return writingList() }) {
		t.Fatal("the list is not being written")
	}
	start := time.Now()
	// ...and gives up once the write timeout has passed, with the client
	// still not reading. (Once cut, what the kernel still holds of the
	// answer drains on its own; the server keeps nothing of it.)
	if !waitFor(10*time.Second, func() bool { return !writingList() }) {
		t.Fatal("the server is still writing to a client that does not read, 10 s after its write timeout")
	}
	t.Logf("cut off %v after the list started", time.Since(start).Round(10*time.Millisecond))
	// The server goes on serving.
	s.do("GET", "/healthz", "", nil).want(t, 200, "healthz after the cut")
}

// writingList reports whether a goroutine of this process is writing a
// list answer.
func writingList() bool {
	buf := make([]byte, 4<<20)
	return bytes.Contains(buf[:runtime.Stack(buf, true)], []byte("api.(*Server).streamList"))
}

func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}
