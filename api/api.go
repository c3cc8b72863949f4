// Package api is Strongroom's HTTP JSON API, built with huma over the
// standard library's mux, so the OpenAPI 3.1 document at /openapi.json, which
// the docs page at /docs shows (docsui), is generated from the very types the
// handlers use. It keeps the seed design's paths, bodies and messages.
// Handlers only parse, call the service and shape the answer.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 64 << 10

// Version is the API's version in the OpenAPI document.
const Version = "1.0.0"

// Server serves the API.
type Server struct {
	svc     *service.Service
	log     *slog.Logger
	api     huma.API
	mux     *http.ServeMux
	proxies []netip.Prefix
	// errorSchema is every error answer's body: RFC 9457 problem+json.
	errorSchema *huma.Schema
	spec30      spec30 // the document's 3.0 form (openapi30.go)

	// OnRequest, if set, is told of every request once it is answered:
	// the route pattern that served it ("" if none did), as the mux
	// writes it ("GET /sensitive-data/{id}"), the request's method as
	// sent, the status answered (499: the client went away) and how long
	// it took. It is for metrics (package metrics): it never sees the
	// URL, so no record id or query reaches it. Set it before serving.
	OnRequest func(pattern, method string, status int, d time.Duration)
}

// New returns the API's handler for svc. trustedProxies are the reverse
// proxies whose X-Forwarded-For names the client (see clientAddr). The
// lines the API logs for a request are made with its context, which
// carries its id (strongroom.RequestID): for them to show it, log's
// handler must add it (requestid.Logger, as the serve command does).
func New(svc *service.Service, log *slog.Logger, trustedProxies []netip.Prefix) *Server {
	useSafeErrors()
	s := &Server{svc: svc, log: log, mux: http.NewServeMux(), proxies: trustedProxies}
	cfg := huma.DefaultConfig("Strongroom", Version)
	cfg.CreateHooks = nil // no "$schema" links: bodies stay exactly the seed's
	cfg.DocsPath = ""     // huma's page loads its viewer from a CDN; ours is embedded (api/docsui, added by Handle)
	cfg.Info.Description = "Sensitive data encrypted at rest under per-user keys held by a key manager."
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"bearer": {Type: "http", Scheme: "bearer", BearerFormat: "JWT"},
	}
	s.api = humago.New(s.mux, cfg)
	s.errorSchema = s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[huma.ErrorModel](), true, "ErrorModel")
	s.routes()
	return s
}

// Handle serves pattern with h behind the API's common protections (see
// ServeHTTP): the way a page such as /docs (api/docsui) joins the API
// without the API depending on it.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// OpenAPI returns the API's OpenAPI document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

// ServeHTTP serves a request with the API's common protections. Every
// answer, errors included, carries the request's id in X-Request-Id: the
// client's if well-formed, else a new one (requestID); the request's
// context carries it to the log lines and everything else that names the
// request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.OnRequest == nil {
		s.serve(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	// Deferred, so that a request cut short by a panic (a streamed list
	// whose client went away) is reported too.
	defer func() { s.OnRequest(r.Pattern, r.Method, sw.status, time.Since(start)) }()
	s.serve(sw, r)
}

// serve is ServeHTTP without the report to OnRequest. It sets r.Pattern
// to the route that serves the request, if any.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id := requestID(r)
	h := w.Header()
	h.Set(RequestIDHeader, id)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, r.Pattern = s.mux.Handler(r)
	if r.ContentLength > MaxBodyBytes {
		writeProblem(w, http.StatusRequestEntityTooLarge, "request body is larger than 64 KiB")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes+1)
	addr := peerOrForwarded(r, s.proxies)
	host := limitKey(addr)
	// The bearer token reaches the operations through the context, not as
	// a header parameter of each: the document declares it once, as the
	// bearer security scheme, and the operations' access says who needs it.
	// The audit events of the request carry its id and its client's
	// address (the whole address: an IPv6 client is limited by its /64,
	// but recorded as itself).
	ctx := strongroom.WithRequestID(r.Context(), id)
	ctx = strongroom.WithClientAddr(ctx, auditAddr(addr))
	ctx = strongroom.WithClient(ctx, host)
	ctx = context.WithValue(ctx, requestKey{}, request{authorization: r.Header.Get("Authorization")})
	outer := r
	r = r.WithContext(service.WithUserAgent(ctx, r.UserAgent()))
	if s.serveOpenAPI30(w, r) {
		outer.Pattern = "GET " + r.URL.Path // the two documents the mux does not route
		return
	}
	if r.Pattern == "" || r.Method == http.MethodHead && valueRoutes[r.Pattern] {
		s.noRoute(w, r)
		return
	}
	sw, ok := w.(*statusWriter)
	if !ok {
		sw = &statusWriter{ResponseWriter: w, status: http.StatusOK}
	}
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.serveMux(sw, r)
		return
	}
	start := time.Now()
	// The access log (debug level: STRONGROOM_LOG_LEVEL=debug) names the
	// route pattern, not the URL: no record ids, no query. It is written on the
	// way out, so a request cut short (a streamed list whose client went
	// away ends with http.ErrAbortHandler) is logged too.
	defer func() {
		s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", r.Pattern, "status", sw.status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000, "client", host)
	}()
	s.serveMux(sw, r) // sets r.Pattern
}

// serveMux serves the request through the routes. A client that hangs up
// while its answer is written is not an error of ours: huma answers a
// failed write with a panic unless the request's context was cancelled,
// which it is not when the request's time limit ran out first (a slow
// reader of a large list, then gone), and net/http would log that panic
// with a stack trace. Such a panic, the write error itself, ends the
// request quietly as 499 (client closed request). Any other panic is a
// bug: it is logged with its stack and the request's id, and answered
// 500 with the id, or, if the answer had begun, the connection is cut so
// that a partial answer does not pass for a whole one.
func (s *Server) serveMux(sw *statusWriter, r *http.Request) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if err, ok := p.(error); ok && sw.writeErr != nil && errors.Is(err, sw.writeErr) {
			sw.status = 499
			return
		}
		if p == http.ErrAbortHandler { // a handler cutting the connection on purpose
			if r.Context().Err() != nil {
				sw.status = 499 // the client went away; net/http still cuts the connection
			}
			panic(p)
		}
		s.log.ErrorContext(r.Context(), "panic serving a request", "method", r.Method, "route", r.Pattern,
			"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		if sw.sent {
			sw.status = 500
			panic(http.ErrAbortHandler)
		}
		writeProblem(sw, http.StatusInternalServerError, "internal error")
	}()
	s.mux.ServeHTTP(sw, r)
}

// statusWriter remembers the status code for the access log, and keeps a
// status set after the header has gone out from reaching net/http: when a
// client hangs up mid-answer, huma's write fails and it sets the status to
// 499 (client closed request) to say so, which net/http would log as a
// "superfluous response.WriteHeader call" warning with a source location
// on every hang-up. The status cannot reach the client either way.
type statusWriter struct {
	http.ResponseWriter
	status   int
	sent     bool  // the header has been written
	writeErr error // the first failed write: the client is gone
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	if w.sent {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.sent = true // a 1xx other than 101 is followed by the real status
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.sent = true
	n, err := w.ResponseWriter.Write(b)
	if err != nil && w.writeErr == nil {
		w.writeErr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// valueRoutes answer with records' values. A HEAD there is refused (405):
// it would decrypt the values and record their reads, and send none of
// them, so a client could fill the audit trail without even taking the
// download.
var valueRoutes = map[string]bool{"GET /sensitive-data": true, "GET /sensitive-data/{id}": true}

// noRoute answers a request no route matches with problem+json, like
// every other error: 405 with Allow if the path exists for other methods,
// else 404. (The mux's own answers are plain text.)
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeProblem(w, http.StatusMethodNotAllowed, "method not allowed; allowed: "+strings.Join(allow, ", "))
		return
	}
	writeProblem(w, http.StatusNotFound, "no such route")
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}
