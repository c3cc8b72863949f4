package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/vault"
)

// serveDebug serves pprof and the service's counters on a loopback
// address (STRONGROOM_DEBUG_ADDR), never on the API's listener. It answers
// only requests addressed to a loopback host (see loopbackHostOnly).
func (m *Main) serveDebug() error {
	ln, err := net.Listen("tcp", m.Config.DebugAddr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/debug/stats", func(w http.ResponseWriter, _ *http.Request) {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		stats := map[string]any{
			"service": m.Service.Stats(), "heap_alloc": ms.HeapAlloc, "sys": ms.Sys, "goroutines": runtime.NumGoroutine(),
			"audit": map[string]int64{"appends": m.auditAppends.Load(), "events": m.auditEvents.Load()},
		}
		if db, ok := m.Store.(*sqlite.DB); ok {
			stats["group_commits"] = db.GroupCommits()
		}
		if k, ok := m.Keys.(*vault.KMS); ok {
			stats["vault_calls"] = k.Calls()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(stats)
	})
	m.DebugAddr = ln.Addr().String()
	m.debug = &http.Server{Handler: loopbackHostOnly(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = m.debug.Serve(ln) }()
	m.Log.Info("debug server (pprof, counters)", "addr", ln.Addr().String())
	return nil
}

// loopbackHostOnly answers 421 Misdirected Request to a request whose Host
// is not "localhost" or a loopback address. Listening on loopback keeps
// other machines out, but not a web page in the operator's browser: with
// DNS rebinding, evil.example can come to resolve to 127.0.0.1, and the
// browser then sends the page's requests, same-origin to it, to this
// listener with "Host: evil.example". Checking the Host shuts that out.
func loopbackHostOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLoopbackHost(r.Host) {
			http.Error(w, "this server answers only to a loopback host such as 127.0.0.1 or localhost", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// isLoopbackHost reports whether a Host header (host, host:port, [v6] or
// [v6]:port) names localhost or a loopback address.
func isLoopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}
