package main

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/api"
	"github.com/strongroom/strongroom/requestid"
)

// Every answer carries an X-Request-Id: the client's when it is
// well-formed (1 to 64 of A-Z a-z 0-9 . _ -), else a new one, and a
// malformed one is never echoed.
func TestRequestIDHeader(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	get := func(id string) string {
		t.Helper()
		r := s.doHeaders("GET", "/healthz", "", nil, map[string]string{api.RequestIDHeader: id}).want(t, 200, "healthz")
		return r.Header.Get(api.RequestIDHeader)
	}
	for _, id := range []string{"abc", "3f2b8c1e-7d4a-4e2b-9c1a-0b5d6e7f8a9b", "Trace_1.2-x", strings.Repeat("a", 64)} {
		if got := get(id); got != id {
			t.Errorf("well-formed %q: answered %q, want it echoed", id, got)
		}
	}
	for name, id := range map[string]string{
		"empty": "", "65 characters": strings.Repeat("a", 65), "space": "abc def", "quote": `abc"def`,
		"slash": "a/b", "non-ASCII": "abcé", "JSON": `{"a":1}`, "tab": "a\tb",
	} {
		if got := get(id); got == id || !strongroom.ValidRequestID(got) {
			t.Errorf("malformed id (%s) %q: answered %q, want a new valid id", name, id, got)
		}
	}
	// A CRLF attempt, sent raw: whatever reaches the server of
	// "abc\r\n Set-Cookie: ..." (a folded header line) is not echoed, and
	// no header is added.
	res := rawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc\r\n Set-Cookie: a=1\r\nConnection: close\r\n\r\n")
	t.Logf("CRLF attempt answered %d, X-Request-Id %q", res.StatusCode, res.Header.Get(api.RequestIDHeader))
	if got := res.Header.Get(api.RequestIDHeader); strings.Contains(got, "abc") || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("CRLF attempt: status %d, X-Request-Id %q, Set-Cookie %q", res.StatusCode, got, res.Header.Get("Set-Cookie"))
	}
	// Two ids at once: neither is taken.
	res = rawRequest(t, s.Addr, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n")
	if got := res.Header.Get(api.RequestIDHeader); got == "one" || got == "two" || !strongroom.ValidRequestID(got) {
		t.Errorf("two ids sent: answered %q, want a new one", got)
	}
	// Without one, each request gets its own.
	a := s.do("GET", "/healthz", "", nil).Header.Get(api.RequestIDHeader)
	b := s.do("GET", "/healthz", "", nil).Header.Get(api.RequestIDHeader)
	if !strongroom.ValidRequestID(a) || !strongroom.ValidRequestID(b) || a == b {
		t.Errorf("two requests without an id got %q and %q, want two different new ids", a, b)
	}
}

// Error answers carry the id too, from a refusal before any route (413) to
// huma's and the handlers' (400, 401, 404, 405, 415, 422).
func TestRequestIDOnErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	big := `{"username":"` + strings.Repeat("a", 70<<10) + `"}`
	for _, c := range []struct {
		method, path string
		body         any
		contentType  string
		status       int
	}{
		{"GET", "/no-such-route", nil, "", 404},
		{"DELETE", "/healthz", nil, "", 405},
		{"POST", "/register", big, "", 413},
		{"POST", "/login", "{", "", 400},
		{"POST", "/login", "username=a", "application/x-www-form-urlencoded", 415},
		{"POST", "/register", map[string]string{"username": "x"}, "", 422},
		{"GET", "/sensitive-data", nil, "", 401},
		{"GET", "/sensitive-data/000000000000000000000000", nil, "", 401},
	} {
		name := c.method + " " + c.path
		h := map[string]string{api.RequestIDHeader: "err-1"}
		if c.contentType != "" {
			h["Content-Type"] = c.contentType
		}
		r := s.doHeaders(c.method, c.path, "", c.body, h)
		if r.Status != c.status {
			t.Errorf("%s: %d, want %d: %s", name, r.Status, c.status, r.Raw)
		}
		if got := r.Header.Get(api.RequestIDHeader); got != "err-1" {
			t.Errorf("%s (%d): X-Request-Id %q, want err-1", name, r.Status, got)
		}
		delete(h, api.RequestIDHeader)
		r = s.doHeaders(c.method, c.path, "", c.body, h)
		if got := r.Header.Get(api.RequestIDHeader); !strongroom.ValidRequestID(got) {
			t.Errorf("%s (%d) without an id: X-Request-Id %q, want a new one", name, r.Status, got)
		}
	}
}

// The lines logged for a request carry its id: the access log, the
// service's lines, and those of work done for it after the answer (a
// notice mailed to the owner).
func TestRequestIDInLog(t *testing.T) {
	t.Parallel()
	s := startServer(t, testConfig(t, t.TempDir()))
	s.doHeaders("POST", "/register", "", map[string]string{"username": "rid", "email": "rid@example.com", "password": seedPassword},
		map[string]string{api.RequestIDHeader: "reg-1"}).want(t, 200, "register")
	tok := s.login("rid", seedPassword)
	r := s.doHeaders("POST", "/change-password", tok, map[string]string{"current_password": seedPassword, "new_password": seedPassword + "x"},
		map[string]string{api.RequestIDHeader: "chpw-1"}).want(t, 200, "change password")
	if r.Header.Get(api.RequestIDHeader) != "chpw-1" {
		t.Fatalf("X-Request-Id %q, want chpw-1", r.Header.Get(api.RequestIDHeader))
	}
	s.mails("rid@example.com") // waits for the notice
	lines := logLines(t, s.Logs.String())
	for _, want := range []struct{ id, msg string }{
		{"reg-1", "user registered"},
		{"reg-1", "request"}, // the access log
		{"chpw-1", "request"},
		{"chpw-1", "mail written to outbox"}, // the notice, after the answer
	} {
		found := false
		for _, l := range lines {
			if l["msg"] == want.msg && l[requestid.LogKey] == want.id {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q line with request_id %s in the log:\n%s", want.msg, want.id, s.Logs.String())
		}
	}
	// Every access-log line has an id, each request its own.
	seen := map[string]bool{}
	for _, l := range lines {
		if l["msg"] != "request" {
			continue
		}
		id, _ := l[requestid.LogKey].(string)
		if !strongroom.ValidRequestID(id) || seen[id] {
			t.Errorf("access log line with request_id %q (missing, malformed or repeated): %v", id, l)
		}
		seen[id] = true
	}
}

func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", line)
		}
		out = append(out, m)
	}
	return out
}

// rawRequest sends req as is on a new connection and reads the answer.
func rawRequest(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}
