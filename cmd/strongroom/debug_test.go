package main

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestIsLoopbackHost(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"127.0.0.1:6060": true, "127.0.0.1": true, "127.1.2.3:80": true, "localhost:6060": true, "LOCALHOST": true,
		"localhost.:6060": true, "[::1]:6060": true, "[::1]": true, "::1": true,
		"": false, "evil.example": false, "evil.example:6060": false, "localhost.evil.example:6060": false,
		"127.0.0.1.evil.example": false, "10.0.0.1:6060": false, "[::ffff:127.0.0.1]:6060": true, "0.0.0.0:6060": false,
		"[fe80::1%lo]:6060": false, "sub.localhost:6060": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// rawGet sends a GET with the given Host header over a real socket to addr
// and returns the status line.
func rawGet(t *testing.T, addr, path, host string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("GET %s with Host %s: %v", path, host, err)
	}
	return strings.TrimSpace(line)
}

// A DNS-rebound page (Host: evil.example) gets nothing from the debug
// server; requests addressed to the loopback listener itself still work.
func TestDebugServerRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, t.TempDir())
	cfg.DebugAddr = "127.0.0.1:0"
	s := startServer(t, cfg)
	_, port, _ := net.SplitHostPort(s.DebugAddr)
	for _, host := range []string{"evil.example", "evil.example:" + port, "127.0.0.1.evil.example:" + port, "localhost.evil.example"} {
		for _, path := range []string{"/debug/stats", "/debug/pprof/", "/debug/pprof/goroutine?debug=2"} {
			if got := rawGet(t, s.DebugAddr, path, host); got != "HTTP/1.1 421 Misdirected Request" {
				t.Errorf("GET %s with Host %s: %s, want 421", path, host, got)
			}
		}
	}
	for _, host := range []string{s.DebugAddr, "localhost:" + port, "127.0.0.1"} {
		if got := rawGet(t, s.DebugAddr, "/debug/stats", host); got != "HTTP/1.1 200 OK" {
			t.Errorf("GET /debug/stats with Host %s: %s, want 200", host, got)
		}
	}
	res, err := http.Get("http://" + s.DebugAddr + "/debug/pprof/")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("plain GET of pprof: %v, %v", res, err)
	}
	res.Body.Close()
}
