package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
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
	mux := http.NewServeMux()
	mux.HandleFunc("/", h)
	s := &Server{mux: mux}
	sw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() { panicked = recover() }()
	s.serveMux(sw, httptest.NewRequest("GET", "/", nil))
	return sw, nil
}

// huma's way of failing a write to a departed client (a panic wrapping the
// write error) ends the request as 499, quietly; any other panic, even
// after a failed write, still reaches net/http.
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
	_, p = serveWith(func(http.ResponseWriter, *http.Request) { panic(errGone) }, httptest.NewRecorder())
	if p == nil {
		t.Fatal("a panic without a failed write was swallowed")
	}
}
