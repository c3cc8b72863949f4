package main

import (
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// serveMetrics serves Prometheus metrics at /metrics, and nothing else, on
// STRONGROOM_METRICS_ADDR: a listener of its own, never the API's, so that
// the public cannot read them and a firewall can keep the two apart.
// Prometheus usually scrapes from another machine, so unlike the debug
// server it may listen on any address; keep that a private network. On a
// loopback address it answers only requests addressed to a loopback host,
// as the debug server does, so that a web page in the operator's browser
// cannot read it through DNS rebinding.
func (m *Main) serveMetrics() error {
	ln, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return err
	}
	info, ok := debug.ReadBuildInfo()
	m.metrics.Info(describeVersion(version, info, ok), m.storeName(), m.keysName(), m.mailName())
	m.metrics.ServiceStats(m.Service.Stats)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.metrics.Handler())
	var h http.Handler = mux
	if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsLoopback() {
		h = loopbackHostOnly(mux)
	}
	m.MetricsAddr = ln.Addr().String()
	m.metricsSrv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(m.Log.Handler(), slog.LevelWarn),
	}
	go func() { _ = m.metricsSrv.Serve(ln) }()
	m.Log.Info("metrics server (Prometheus)", "addr", m.MetricsAddr)
	return nil
}
