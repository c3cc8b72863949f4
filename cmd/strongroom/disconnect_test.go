package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A client that hangs up in the middle of a large answer is ordinary (a
// closed browser tab, a timed-out script): it must not put a panic, a
// stack trace or a source location in the server's log, where it would
// read as a crash and bury real ones. Checked with the access log on
// (debug) and off (info), whose response writers differ.
func TestClientDisconnectMidResponseLogsNothingAlarming(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			testClientDisconnect(t, level, 0)
		})
	}
}

// A client so slow that the request's time runs out while its answer is
// being written, and then gone: huma's write error is then not a
// cancellation, and it panics.
func TestClientDisconnectAfterTheRequestTimeout(t *testing.T) {
	// Not parallel: every request has 2 s here, and the client that stays
	// must get its whole 5 MB list within them; beside other tests it
	// did not (the list came cut off).
	testClientDisconnect(t, slog.LevelInfo, 2*time.Second)
}

// testClientDisconnect hangs up on large lists at several points; with
// slowFor set, the handlers' time limit is that, and the client waits past
// it before hanging up.
func testClientDisconnect(t *testing.T, level slog.Level, slowFor time.Duration) {
	logs := &syncBuffer{}
	m := NewMain()
	m.Config = testConfig(t, t.TempDir())
	m.handlerTimeout = slowFor
	m.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	s := &testServer{Main: m, t: t, URL: "http://" + m.Addr, Logs: logs}
	s.register("hangup", seedPassword)
	tok := s.login("hangup", seedPassword)
	value := strings.Repeat("v", 16384)
	// About 3.3 MB of JSON, more than the client's socket buffer holds;
	// 5.3 MB for the slow client, more than the server's can too.
	records := 200
	if slowFor > 0 {
		records = 320
	}
	for i := 0; i < records; i++ {
		s.do("POST", "/sensitive-data", tok, map[string]string{"data_type": "note", "value": value}).want(t, 200, "create")
	}
	req := "GET /sensitive-data HTTP/1.1\r\nHost: " + s.Addr + "\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
	// Each of the three hang-up points, with a FIN and with a reset; the
	// slow client hangs up once the answer has begun, with each.
	points := []int{0, 1, 2, 3, 4, 5}
	if slowFor > 0 {
		points = []int{1, 2}
	}
	for _, i := range points {
		c, err := dialSmallWindow(s.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		// Hang up after reading nothing, the status line, or part of the
		// body; half of them with a reset rather than a FIN.
		if i%3 > 0 {
			br := bufio.NewReader(c)
			if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
				t.Fatalf("status line %q, %v", line, err)
			}
			if i%3 == 2 {
				_, _ = io.CopyN(io.Discard, br, 256<<10)
			}
		}
		if i%2 == 0 {
			_ = c.(*net.TCPConn).SetLinger(0)
		}
		if slowFor > 0 {
			time.Sleep(slowFor + 100*time.Millisecond)
		}
		c.Close()
	}
	// A client that stays gets the whole list.
	if r := s.do("GET", "/sensitive-data", tok, nil).want(t, 200, "list"); len(r.List) != records {
		t.Fatalf("list has %d records", len(r.List))
	}
	// Close waits for every request, the hung-up ones included, to end.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	for _, bad := range []string{"panic", "goroutine ", ".go:", "runtime/", "superfluous", "error marshaling", `"level":"ERROR"`} {
		if strings.Contains(out, bad) {
			t.Errorf("the log has %q after clients hung up:\n%s", bad, out)
		}
	}
	if level == slog.LevelDebug && strings.Count(out, `"route":"GET /sensitive-data"`) != len(points)+1 {
		t.Errorf("the access log does not show every list request:\n%s", out)
	}
}

// dialSmallWindow connects with a small receive buffer, set before the
// handshake so the kernel cannot grow it: the server's writes then block
// as they would towards a slow client, instead of the whole answer fitting
// in loopback's buffers.
func dialSmallWindow(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10) })
		return errors.Join(err, serr)
	}}
	return d.Dial("tcp", addr)
}
