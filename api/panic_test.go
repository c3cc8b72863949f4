package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/strongroom/strongroom/requestid"
)

// lockedBuffer is a log written by the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// A bug that panics before the answer began is answered 500 problem+json
// with the request's id, and logged at ERROR with its stack and the same
// id, which the access log line carries too; the server goes on serving.
func TestPanicAnswered(t *testing.T) {
	var log lockedBuffer
	s := New(nil, requestid.Logger(slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))), nil)
	s.mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("a bug") })
	srv := httptest.NewServer(s)
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/panic", nil)
	req.Header.Set(RequestIDHeader, "p-1")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" ||
		res.Header.Get(RequestIDHeader) != "p-1" || !strings.Contains(string(body), `"detail":"internal error"`) {
		t.Fatalf("answered %d %v %s", res.StatusCode, res.Header, body)
	}
	var panicLine, accessLine map[string]any
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		switch m["msg"] {
		case "panic serving a request":
			panicLine = m
		case "request":
			accessLine = m
		}
	}
	if panicLine["level"] != "ERROR" || panicLine[requestid.LogKey] != "p-1" || panicLine["panic"] != "a bug" ||
		!strings.Contains(panicLine["stack"].(string), "panic_test.go") {
		t.Errorf("panic line: %v", panicLine)
	}
	if accessLine[requestid.LogKey] != "p-1" || accessLine["status"] != float64(500) {
		t.Errorf("access log line: %v", accessLine)
	}
	if res, err := srv.Client().Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("after the panic: %v %v", res, err)
	}
}

// A panic after the answer began cuts the connection (http.ErrAbortHandler
// reaches net/http), so a partial answer does not pass for a whole one.
func TestPanicMidAnswer(t *testing.T) {
	sw, p, logged := serveLogged(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("[{"))
		panic("a bug")
	}, httptest.NewRecorder())
	if p != http.ErrAbortHandler || sw.status != 500 || !strings.Contains(logged, "a bug") || !strings.Contains(logged, `"request_id":"req-1"`) {
		t.Fatalf("panic %v, status %d, log %s; want http.ErrAbortHandler, 500, logged with the id", p, sw.status, logged)
	}
}
