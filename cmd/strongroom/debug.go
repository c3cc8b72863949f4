package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"

	"github.com/strongroom/strongroom/sqlite"
)

// serveDebug serves pprof and the service's counters on a loopback
// address (STRONGROOM_DEBUG_ADDR), never on the API's listener.
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
		}
		if db, ok := m.Store.(*sqlite.DB); ok {
			stats["group_commits"] = db.GroupCommits()
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(stats)
	})
	m.DebugAddr = ln.Addr().String()
	m.debug = &http.Server{Handler: mux}
	go func() { _ = m.debug.Serve(ln) }()
	m.Log.Info("debug server (pprof, counters)", "addr", ln.Addr().String())
	return nil
}
