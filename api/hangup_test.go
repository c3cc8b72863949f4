package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/requestid"
)

// failingWriter is a connection whose client has gone.
type failingWriter struct {
	http.ResponseWriter
	headers int
}

var errGone = errors.New("write: connection reset by peer")

func (w *failingWriter) Write([]byte) (int, error) { return 0, errGone }
func (w *failingWriter) WriteHeader(int)           { w.headers++ }

func serveWith(h http.HandlerFunc, w http.ResponseWriter) (sw *statusWriter, panicked any) {
	sw, panicked, _ = serveLogged(h, w)
	return sw, panicked
}

// serveLogged is serveWith, with what was logged, for a request whose id
// is "req-1".
func serveLogged(h http.HandlerFunc, w http.ResponseWriter) (sw *statusWriter, panicked any, logged string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", h)
	var log bytes.Buffer
	s := &Server{mux: mux, log: requestid.Logger(slog.New(slog.NewJSONHandler(&log, nil)))}
	sw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { panicked, logged = recover(), log.String() }()
	r := httptest.NewRequest("GET", "/", nil)
	s.serveMux(sw, r.WithContext(strongroom.WithRequestID(r.Context(), "req-1")))
	return sw, nil, log.String()
}

// huma's way of failing a write to a departed client (a panic wrapping the
// write error) ends the request as 499, quietly; any other panic, even
// after a failed write, is logged, and cuts the connection (a panic that
// reaches net/http) once the answer has begun.
func TestHangupPanicIsQuiet(t *testing.T) {
	fw := &failingWriter{ResponseWriter: httptest.NewRecorder()}
	sw, p := serveWith(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		_, err := w.Write([]byte("[{"))
		w.WriteHeader(499) // huma's SetStatus after a failed write
		panic(fmt.Errorf("error marshaling response for GET / 200: %w", err))
	}, fw)
	if p != nil || sw.status != 499 {
		t.Fatalf("panic %v, status %d; want none and 499", p, sw.status)
	}
	if fw.headers != 1 {
		t.Fatalf("WriteHeader reached net/http %d times, want once", fw.headers)
	}
	_, p = serveWith(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("x"))
		panic(errors.New("a bug"))
	}, &failingWriter{ResponseWriter: httptest.NewRecorder()})
	if p == nil {
		t.Fatal("a panic that is not a failed write was swallowed")
	}
	rec := httptest.NewRecorder()
	sw, p, logged := serveLogged(func(http.ResponseWriter, *http.Request) { panic(errGone) }, rec)
	if p != nil || sw.status != 500 || rec.Code != 500 {
		t.Fatalf("a panic before the answer: panic %v, status %d, answered %d; want none, 500, 500", p, sw.status, rec.Code)
	}
	if !strings.Contains(logged, `"level":"ERROR"`) || !strings.Contains(logged, `"request_id":"req-1"`) {
		t.Fatalf("a panic without a failed write was not logged with the request id: %s", logged)
	}
}
