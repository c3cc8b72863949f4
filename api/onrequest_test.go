package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type reported struct {
	pattern, method string
	status          int
}

// OnRequest hears of every request, routed or not, with the route's
// pattern (never the URL) and the status answered: refused before any
// route (413), the 3.0 documents the mux does not route, no route (404,
// 405), and a panic answered 500.
func TestOnRequestReportsEveryRequest(t *testing.T) {
	s := New(nil, slog.New(slog.DiscardHandler), nil)
	s.mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("a bug") })
	var mu sync.Mutex
	var got []reported
	s.OnRequest = func(pattern, method string, status int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("%s %s took %v", method, pattern, d)
		}
		got = append(got, reported{pattern, method, status})
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	for _, c := range []struct {
		method, path string
		body         []byte
		want         reported
	}{
		{"GET", "/healthz", nil, reported{"GET /healthz", "GET", 200}},
		{"GET", "/sensitive-data/0123456789abcdef01234567?x=secret", nil, reported{"GET /sensitive-data/{id}", "GET", 401}},
		{"POST", "/register", make([]byte, MaxBodyBytes+1), reported{"POST /register", "POST", 413}},
		{"GET", "/openapi-3.0.yaml", nil, reported{"GET /openapi-3.0.yaml", "GET", 200}},
		{"GET", "/no-such-route", nil, reported{"", "GET", 404}},
		{"BREW", "/healthz", nil, reported{"", "BREW", 405}},
		{"GET", "/panic", nil, reported{"GET /panic", "GET", 500}},
	} {
		mu.Lock()
		got = nil
		mu.Unlock()
		req, _ := http.NewRequest(c.method, srv.URL+c.path, bytes.NewReader(c.body))
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		// A large answer reaches the client before the handler returns.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n > 0 {
				break
			}
		}
		mu.Lock()
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("%s %s reported %+v, want %+v", c.method, c.path, got, c.want)
		}
		mu.Unlock()
	}
}
