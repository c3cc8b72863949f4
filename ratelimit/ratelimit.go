// Package ratelimit is a keyed token-bucket limiter with a bounded number of
// keys, for limits per user and per client address, and Shared, the same
// limit counted in the store for every server on it.
package ratelimit

import (
	"container/list"
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
	buckets map[string]*list.Element // of *bucket
	lru     list.List                // most recently used first
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// New returns a Limiter. It tracks at most maxKeys keys; past that, the key
// used least recently is forgotten, so a flood of new keys (spoofed or
// rotating addresses) pushes out idle keys, never the busy ones an attacker
// is being limited on.
func New(every time.Duration, burst, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, burst: float64(burst), maxKeys: max(1, maxKeys), now: now, buckets: map[string]*list.Element{}}
}

// Allow takes one token for key. If none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) { return l.AllowN(key, 1) }

// AllowN takes n tokens for key (more than the burst count as the burst).
// If fewer are left it takes none and returns false and how long until
// they are.
func (l *Limiter) AllowN(key string, n int) (bool, time.Duration) {
	need := float64(min(max(n, 1), int(l.burst)))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.buckets[key]; ok {
		b = e.Value.(*bucket)
		l.lru.MoveToFront(e)
	} else {
		if len(l.buckets) >= l.maxKeys {
			oldest := l.lru.Back()
			l.lru.Remove(oldest)
			delete(l.buckets, oldest.Value.(*bucket).key)
		}
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}
	if now.After(b.last) { // a clock that steps back refills nothing
		b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
		b.last = now
	}
	if b.tokens >= need {
		b.tokens -= need
		return true, 0
	}
	wait := time.Duration((need - b.tokens) * float64(l.every))
	return false, max(wait, time.Second)
}

// Peek reports whether n tokens for key are there, and if not how long
// until they are, without taking any.
func (l *Limiter) Peek(key string, n int) (bool, time.Duration) {
	need := float64(min(max(n, 1), int(l.burst)))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.buckets[key]
	if !ok {
		return true, 0
	}
	b := e.Value.(*bucket)
	tokens := b.tokens
	if now.After(b.last) {
		tokens = min(l.burst, tokens+float64(now.Sub(b.last))/float64(l.every))
	}
	if tokens >= need {
		return true, 0
	}
	return false, max(time.Duration((need-tokens)*float64(l.every)), time.Second)
}

// Len returns how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
