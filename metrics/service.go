package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// The label values the service can report, set to zero at start so that
// each series exists before its first event (a rate over a series that
// appears only with its first event misses that event).
var (
	loginOutcomes = []service.LoginOutcome{service.LoginSuccess, service.LoginSecondFactor, service.LoginFailure,
		service.LoginLocked, service.LoginRefused, service.LoginInvalid, service.LoginError, service.LoginOvertaken}
	refusalReasons = []string{"rate_limited", "over_share", "pool_full"}
	locks          = []service.Lock{service.LockPassword, service.LockSecondFactor}
	codePurposes   = []strongroom.Purpose{strongroom.PurposeLogin, strongroom.PurposeEnroll, strongroom.PurposeUnlock}
	codeKinds      = []service.CodeKind{service.CodeEmail, service.CodeTOTP, service.CodeEmailOrTOTP, service.CodeRecovery, service.CodeUnlock}
)

func (m *Metrics) initServiceLabels() {
	for _, o := range loginOutcomes {
		m.logins.WithLabelValues(string(o))
	}
	for _, r := range refusalReasons {
		m.refused.WithLabelValues(r)
	}
	for _, l := range locks {
		m.lockouts.WithLabelValues(string(l))
	}
	for _, p := range codePurposes {
		m.codesSent.WithLabelValues(string(p))
	}
	for _, k := range codeKinds {
		m.codeChecks.WithLabelValues(string(k), "accepted")
		m.codeChecks.WithLabelValues(string(k), "rejected")
	}
	m.rotFinished.WithLabelValues("done")
	m.rotFinished.WithLabelValues("stopped")
}

// Observer returns the service.Observer that counts the service's events.
func (m *Metrics) Observer() service.Observer { return observer{m: m} }

type observer struct {
	service.NopObserver // methods added to service.Observer later count nothing until implemented here
	m                   *Metrics
}

func (o observer) Login(outcome service.LoginOutcome) {
	o.m.logins.WithLabelValues(string(outcome)).Inc()
}
func (o observer) Refused(reason string)    { o.m.refused.WithLabelValues(reason).Inc() }
func (o observer) Locked(what service.Lock) { o.m.lockouts.WithLabelValues(string(what)).Inc() }
func (o observer) CodeSent(purpose strongroom.Purpose) {
	o.m.codesSent.WithLabelValues(string(purpose)).Inc()
}

func (o observer) CodeChecked(kind service.CodeKind, ok bool) {
	result := "rejected"
	if ok {
		result = "accepted"
	}
	o.m.codeChecks.WithLabelValues(string(kind), result).Inc()
}

func (o observer) RotationStarted(keys, rewrapped int) {
	o.m.rotStarted.Inc()
	o.m.rotKeys.Set(float64(keys))
	o.m.rotDone.Set(float64(rewrapped))
}

func (o observer) RotationProgress(rewrapped int) { o.m.rotDone.Set(float64(rewrapped)) }

func (o observer) RotationFinished(done bool) {
	result := "stopped"
	if done {
		result = "done"
	}
	o.m.rotFinished.WithLabelValues(result).Inc()
}

// ServiceStats publishes the counters the service keeps itself, read at
// each scrape: the data-key cache's hits, misses, size and capacity, the
// data keys unwrapped and those waiting for a key-manager call, and the
// ended sessions this server refuses.
func (m *Metrics) ServiceStats(stats func() service.Stats) {
	m.reg.MustRegister(statsCollector{stats})
}

var (
	cacheHitsDesc = prometheus.NewDesc(namespace+"_keycache_hits_total",
		"Data-key lookups answered from the in-memory cache.", nil, nil)
	cacheMissesDesc = prometheus.NewDesc(namespace+"_keycache_misses_total",
		"Data-key lookups that had to unwrap the key with the key manager (or wait for another lookup's unwrap).", nil, nil)
	cacheKeysDesc = prometheus.NewDesc(namespace+"_keycache_keys",
		"Unwrapped data keys in the cache now.", nil, nil)
	cacheCapDesc = prometheus.NewDesc(namespace+"_keycache_capacity",
		"Data keys the cache holds at most (STRONGROOM_KEY_CACHE_MB).", nil, nil)
	unwrappedDesc = prometheus.NewDesc(namespace+"_keymanager_unwrapped_keys_total",
		"Data keys the key manager unwrapped, in the unwrap calls strongroom_keymanager_calls_total counts (concurrent misses share a call).", nil, nil)
	waitingDesc = prometheus.NewDesc(namespace+"_keymanager_unwraps_waiting",
		"Data keys waiting now for a key-manager call (the calls out are at their bound).", nil, nil)
	endedSessionsDesc = prometheus.NewDesc(namespace+"_ended_sessions",
		"Ended sessions, whose tokens have not expired, that this server refuses.", nil, nil)
)

type statsCollector struct{ stats func() service.Stats }

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- cacheHitsDesc
	ch <- cacheMissesDesc
	ch <- cacheKeysDesc
	ch <- cacheCapDesc
	ch <- unwrappedDesc
	ch <- waitingDesc
	ch <- endedSessionsDesc
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(cacheHitsDesc, prometheus.CounterValue, float64(s.KeyCacheHits))
	ch <- prometheus.MustNewConstMetric(cacheMissesDesc, prometheus.CounterValue, float64(s.KeyCacheMisses))
	ch <- prometheus.MustNewConstMetric(cacheKeysDesc, prometheus.GaugeValue, float64(s.KeysCached))
	ch <- prometheus.MustNewConstMetric(cacheCapDesc, prometheus.GaugeValue, float64(s.KeyCacheCap))
	ch <- prometheus.MustNewConstMetric(unwrappedDesc, prometheus.CounterValue, float64(s.Unwraps))
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(s.UnwrapsWaiting))
	ch <- prometheus.MustNewConstMetric(endedSessionsDesc, prometheus.GaugeValue, float64(s.EndedSessions))
}
