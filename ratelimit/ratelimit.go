// Package ratelimit is a keyed token-bucket limiter with a bounded number of
// keys, for limits per user and per client address. State is per process:
// behind a load balancer each replica limits on its own.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter allows Burst events at once per key, refilled at one every Every.
type Limiter struct {
	every   time.Duration
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter. It tracks at most maxKeys keys; past that, keys
// whose buckets have refilled are forgotten first, then the whole map.
func New(every time.Duration, burst, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, burst: float64(burst), maxKeys: maxKeys, now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. If none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	if now.After(b.last) { // a clock that steps back refills nothing
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) * float64(l.every))
	return false, max(wait, time.Second)
}

func (l *Limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.last))/float64(l.every) >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}

// Len returns how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
