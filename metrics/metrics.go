// Package metrics exposes Strongroom's work as Prometheus metrics: HTTP
// requests, logins, lockouts, one-time codes, key-manager and store calls,
// the data-key cache, master-key rotations and group commits, with the Go
// runtime's and the process's own.
//
// It is the only package that imports the Prometheus client. The parts it
// measures know nothing of it: the API reports each request through a func
// field (api.Server.OnRequest), the service its security events through
// service.Observer, the SQLite store its commits through
// sqlite.DB.ObserveCommits; the key manager, the store and the mailer are
// wrapped here in decorators of their interfaces. cmd/strongroom wires it.
//
// Every label value comes from a fixed, small set chosen by the server (a
// route pattern, never a URL; a method from a fixed list; an error kind):
// never a user id, a username, an address, a record id or anything else a
// client chooses, so the metrics reveal no one's identity and a client
// cannot grow their number.
package metrics

import (
	"net/http"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// namespace prefixes every metric of Strongroom's own.
const namespace = "strongroom"

// Metrics holds the collectors, on a registry of its own (not the
// client's global default, which any imported package could write to).
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec

	logins      *prometheus.CounterVec
	refused     *prometheus.CounterVec
	lockouts    *prometheus.CounterVec
	codesSent   *prometheus.CounterVec
	codeChecks  *prometheus.CounterVec
	rotStarted  prometheus.Counter
	rotFinished *prometheus.CounterVec
	rotKeys     prometheus.Gauge
	rotDone     prometheus.Gauge

	kmCalls    *prometheus.CounterVec
	kmDuration *prometheus.HistogramVec

	storeDuration *prometheus.HistogramVec
	storeErrors   *prometheus.CounterVec

	mails        *prometheus.CounterVec
	mailDuration prometheus.Histogram

	commitSize     *prometheus.HistogramVec
	commitDuration *prometheus.HistogramVec
}

// Latency buckets, in seconds. Store and local key-manager calls take tens
// of microseconds to milliseconds; a bcrypt login a few hundred
// milliseconds; a Vault call gives up after 2 seconds; a rotation's
// request lasts as long as the rotation.
var (
	fastBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	httpBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 120}
	sizeBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
)

// New returns the metrics, with the Go runtime's and the process's
// collectors registered.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	}
	gauge := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help})
	}

	m.requests = counter("http_requests_total",
		"HTTP requests answered, by route pattern (unmatched: no route), method and status code.", "route", "method", "code")
	m.requestDuration = histogram("http_request_duration_seconds",
		"Time from a request's arrival at the API to its answer, by route pattern, method and status code.", httpBuckets, "route", "method", "code")

	m.logins = counter("logins_total", "Password logins (POST /login), by outcome.", "outcome")
	m.refused = counter("auth_refused_total",
		"Logins and registrations refused for load before any password work, by reason.", "reason")
	m.lockouts = counter("lockouts_total",
		"Accounts locked by too many wrong passwords or wrong second factors in a row, by factor.", "factor")
	m.codesSent = counter("codes_sent_total", "One-time codes mailed, by purpose.", "purpose")
	m.codeChecks = counter("code_checks_total", "One-time, app, recovery and unlock codes checked, by kind and result.", "kind", "result")
	m.rotStarted = prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "rotations_started_total",
		Help: "Master-key rotations started or resumed by this process."})
	m.rotFinished = counter("rotations_finished_total",
		"Master-key rotations by this process that ended, by result (done, or stopped to be resumed).", "result")
	m.rotKeys = gauge("rotation_keys", "Data keys the latest rotation by this process rewraps in all.")
	m.rotDone = gauge("rotation_keys_rewrapped", "Data keys the latest rotation by this process has rewrapped so far.")

	m.kmCalls = counter("keymanager_calls_total", "Key-manager calls, by operation and result (ok, or the error's kind).", "operation", "result")
	m.kmDuration = histogram("keymanager_call_duration_seconds", "Key-manager call latency, by operation.", fastBuckets, "operation")

	m.storeDuration = histogram("store_operation_duration_seconds", "Store call latency, by operation.", fastBuckets, "operation")
	m.storeErrors = counter("store_errors_total",
		"Store calls that returned an error, by operation and error kind (not_found and conflict are often expected answers).",
		"operation", "kind")

	m.mails = counter("mail_deliveries_total", "Mails handed to the mailer (outbox or SMTP), by result (ok, or the error's kind).", "result")
	m.mailDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "mail_delivery_duration_seconds",
		Help: "Time to deliver one mail.", Buckets: httpBuckets})

	m.commitSize = histogram("group_commit_size",
		"Items made durable per group commit (one transaction and fsync), by queue.", sizeBuckets, "queue")
	m.commitDuration = histogram("group_commit_duration_seconds", "Group commit latency, fsync included, by queue.", fastBuckets, "queue")

	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestDuration,
		m.logins, m.refused, m.lockouts, m.codesSent, m.codeChecks, m.rotStarted, m.rotFinished, m.rotKeys, m.rotDone,
		m.kmCalls, m.kmDuration, m.storeDuration, m.storeErrors, m.mails, m.mailDuration,
		m.commitSize, m.commitDuration,
	)
	m.initServiceLabels()
	return m
}

// Registry returns the registry, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' text format (or OpenMetrics,
// if asked for). At most two scrapes are served at once, so a scraper
// gone wild cannot keep the server gathering.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
		EnableOpenMetrics:   true,
	})
}

// Info publishes strongroom_build_info (the version and Go release) and
// strongroom_backends_info (which store, key manager and mailer serve),
// each a gauge of 1 whose labels carry the facts.
func (m *Metrics) Info(version, store, keyManager, mailer string) {
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help:        "Strongroom's version and the Go release it was built with; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()}})
	build.Set(1)
	backends := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "backends_info",
		Help:        "The store, key manager and mailer this server uses; always 1.",
		ConstLabels: prometheus.Labels{"store": store, "key_manager": keyManager, "mailer": mailer}})
	backends.Set(1)
	m.reg.MustRegister(build, backends)
}

// GroupCommit returns the hook a group-committing writer calls after each
// commit, with the items it made durable and the commit's time:
// sqlite.DB.ObserveCommits for new records (queue "records"), and the
// audit trail's OnCommit (queue "audit"). queue must be a fixed name.
func (m *Metrics) GroupCommit(queue string) func(n int, d time.Duration) {
	size, dur := m.commitSize.WithLabelValues(queue), m.commitDuration.WithLabelValues(queue)
	return func(n int, d time.Duration) {
		size.Observe(float64(n))
		dur.Observe(d.Seconds())
	}
}
