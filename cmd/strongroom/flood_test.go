package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/internal/testclock"
)

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (all of 127.0.0.0/8 is local on Linux), so the server sees a
// distinct client per ip.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}
	clientTransports.Lock()
	clientTransports.all = append(clientTransports.all, tr)
	clientTransports.Unlock()
	return &http.Client{Timeout: 60 * time.Second, Transport: tr}
}

// clientTransports are the transports of every clientFrom client.
var clientTransports struct {
	sync.Mutex
	all []*http.Transport
}

// closeIdleClients closes the test clients' idle connections. A transport
// may dial a connection that then goes unused (a request took an idle one
// that came back meanwhile); a server's Shutdown waits up to 5 s for such
// a connection, which has sent no request yet, unless its client hangs up.
func closeIdleClients() {
	client.CloseIdleConnections()
	clientTransports.Lock()
	defer clientTransports.Unlock()
	for _, tr := range clientTransports.all {
		tr.CloseIdleConnections()
	}
}

// postFrom posts a JSON body with c and returns the status (0 if the
// request itself failed).
func postFrom(c *http.Client, url string, body any) int {
	b, _ := json.Marshal(body)
	res, err := c.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	var sink bytes.Buffer
	_, _ = sink.ReadFrom(res.Body)
	return res.StatusCode
}

// startQuietServer is startServer with the log at info level, as in
// production: the log's size under attack is what an operator pays.
func startQuietServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	logs := &syncBuffer{}
	m := NewMain()
	m.Config = cfg
	m.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		closeIdleClients()
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{Main: m, t: t, URL: "http://" + m.Addr, Logs: logs}
}

// One address floods /login with far more concurrent requests than the
// password-hashing pool holds; meanwhile people logging in from other
// addresses still get in, and the log does not grow with the flood.
func TestLoginFloodFromOneAddress(t *testing.T) {
	// Not parallel: it loads one server to measure it, and its 48 clients would slow every other test.
	forEachStore(t, testLoginFloodFromOneAddress)
}

func testLoginFloodFromOneAddress(t *testing.T, cfg Config) {
	cfg.BcryptCost = 6 // slow enough (under -race) that the flood really fills the pool
	cfg.LoginRate = DefaultLoginRate
	s := startQuietServer(t, cfg)

	users := []string{"127.0.0.11", "127.0.0.12", "127.0.0.13", "127.0.0.14", "127.0.0.15", "127.0.0.16"}
	for i, ip := range users {
		name := fmt.Sprintf("user%d", i)
		if got := postFrom(clientFrom(ip), s.URL+"/register", map[string]string{"username": name, "email": name + "@example.com", "password": seedPassword}); got != 200 {
			t.Fatalf("register %s from %s: %d", name, ip, got)
		}
	}

	logBefore := len(s.Logs.String())
	stop := make(chan struct{})
	var flood sync.WaitGroup
	var mu sync.Mutex
	floodStatus := map[int]int{}
	attacker := clientFrom("127.0.0.66")
	var names atomic.Int64
	for i := 0; i < 48; i++ {
		flood.Add(1)
		go func() {
			defer flood.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// A new name each time: one name would lock after five
				// tries and cost no hashing; fresh names each cost a full
				// (dummy) bcrypt, as a password sprayer's do.
				name := fmt.Sprintf("nobody%d", names.Add(1))
				got := postFrom(attacker, s.URL+"/login", map[string]string{"username": name, "password": "Wrong!pass1"})
				mu.Lock()
				floodStatus[got]++
				mu.Unlock()
				if got != 401 {
					// Refused: ask again soon, not at once. Refusals are
					// cheap, but 48 clients spinning on them in this
					// process would measure how much HTTP two shared
					// cores serve under -race, not the pool's fairness.
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // the flood is under way

	var wg sync.WaitGroup
	userStatus := map[int]int{}
	var slowest time.Duration
	for i, ip := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clientFrom(ip)
			for range 2 {
				start := time.Now()
				got := postFrom(c, s.URL+"/login", map[string]string{"username": fmt.Sprintf("user%d", i), "password": seedPassword})
				mu.Lock()
				userStatus[got]++
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	flood.Wait()
	logs := s.Logs.String()[logBefore:]

	total := 0
	for _, n := range floodStatus {
		total += n
	}
	t.Logf("flood: %d requests, answers %v; other addresses' logins: %v, the slowest %v; log during the flood: %d bytes",
		total, floodStatus, userStatus, slowest.Round(time.Millisecond), len(logs))
	if userStatus[200] != 2*len(users) {
		t.Errorf("other addresses' logins during the flood: answers %v, want all %d to succeed", userStatus, 2*len(users))
	}
	if floodStatus[200]+floodStatus[401] >= total/2 {
		t.Errorf("the flood was not held back: answers %v", floodStatus)
	}
	if n := strings.Count(logs, `"level":"ERROR"`); n > 0 {
		t.Errorf("%d ERROR lines during the flood, e.g. %s", n, logs[strings.Index(logs, `"level":"ERROR"`)-40:][:200])
	}
	// A line per successful login and per checked password is fine; a line
	// per refused request is not.
	if limit := 400 * (2*len(users) + floodStatus[401]); len(logs) > limit {
		t.Errorf("log grew %d bytes during the flood (%d requests refused), want at most %d", len(logs), total-floodStatus[401], limit)
	}
}

// The per-address rate limit on /login and /register: past the budget a
// 429 with Retry-After, before any password work; other addresses are not
// affected.
func TestLoginRatePerAddress(t *testing.T) {
	t.Parallel()
	forEachStoreParallel(t, testLoginRatePerAddress)
}

func testLoginRatePerAddress(t *testing.T, cfg Config) {
	cfg.LoginRate = 3
	// A clock that stands still: the budget refills nothing while the test
	// runs, so the Retry-After below is exact however slow the machine.
	s := startServerAt(t, cfg, testclock.New(time.Now()).Now)
	a, b := clientFrom("127.0.0.21"), clientFrom("127.0.0.22")
	reg := func(c *http.Client, name string) int {
		return postFrom(c, s.URL+"/register", map[string]string{"username": name, "email": name + "@example.com", "password": seedPassword})
	}
	if got := reg(a, "alice"); got != 200 {
		t.Fatalf("register: %d", got)
	}
	for i := 0; i < 2; i++ {
		if got := postFrom(a, s.URL+"/login", map[string]string{"username": "alice", "password": seedPassword}); got != 200 {
			t.Fatalf("login %d within the budget: %d", i+1, got)
		}
	}
	// The budget (3 a minute, registrations and logins together) is spent.
	b2, _ := json.Marshal(map[string]string{"username": "alice", "password": seedPassword})
	res, err := a.Post(s.URL+"/login", "application/json", bytes.NewReader(b2))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "20" {
		t.Fatalf("login past the budget: %d, Retry-After %q; want 429, 20", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if got := reg(a, "mallory"); got != 429 {
		t.Fatalf("register past the budget: %d, want 429", got)
	}
	if u, err := s.Store.UserByUsername(context.Background(), "alice"); err != nil || u.FailedAttempts != 0 {
		t.Fatalf("a refused login counted against the account: %+v, %v", u, err)
	}
	if got := reg(b, "bob"); got != 200 {
		t.Fatalf("another address: register %d", got)
	}
	if got := postFrom(b, s.URL+"/login", map[string]string{"username": "alice", "password": seedPassword}); got != 200 {
		t.Fatalf("another address: login %d", got)
	}
}
