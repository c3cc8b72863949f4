// Package ratelimit is a keyed token-bucket limiter with a bounded number of
// keys, for limits per user and per client address, and Shared, the same
// limit counted in the store for every server on it.
package ratelimit

import (
	"strings"
	"sync"
	"time"

	"github.com/strongroom/strongroom/internal/slotlist"
)

// Limiter allows Burst events at once per key, refilled at one every Every.
type Limiter struct {
	every   time.Duration
	burst   float64
	maxKeys int
	now     func() time.Time

	mu      sync.Mutex
	index   map[string]int32 // a key's bucket
	buckets []bucket         // grown as keys come, up to maxKeys
	lru     slotlist.List    // through buckets, most recently used first
}

// bucket holds no pointer but its key's, so the collector's work for a
// limiter of 100 000 keys is its tables, not 300 000 objects.
type bucket struct {
	key    string
	tokens float64
	last   int64 // unix nanoseconds
	lru    slotlist.Links
}

func lruOf(b *bucket) *slotlist.Links { return &b.lru }

// New returns a Limiter. It tracks at most maxKeys keys; past that, the key
// used least recently is forgotten, so a flood of new keys (spoofed or
// rotating addresses) pushes out idle keys, never the busy ones an attacker
// is being limited on.
func New(every time.Duration, burst, maxKeys int, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{every: every, burst: float64(burst), maxKeys: max(1, maxKeys), now: now,
		index: map[string]int32{}, lru: slotlist.New()}
}

// Allow takes one token for key. If none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) { return l.AllowN(key, 1) }

// AllowN takes n tokens for key (more than the burst count as the burst).
// If fewer are left it takes none and returns false and how long until
// they are.
func (l *Limiter) AllowN(key string, n int) (bool, time.Duration) {
	need := float64(min(max(n, 1), int(l.burst)))
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.index[key]
	switch {
	case ok:
		slotlist.Unlink(&l.lru, l.buckets, lruOf, i)
	case len(l.buckets) < l.maxKeys:
		i = int32(len(l.buckets))
		l.buckets = append(l.buckets, bucket{})
	default: // the least recently used key goes
		i = l.lru.Oldest
		slotlist.Unlink(&l.lru, l.buckets, lruOf, i)
		delete(l.index, l.buckets[i].key)
	}
	if !ok {
		key = strings.Clone(key) // not a piece of a larger string kept alive
		l.index[key] = i
		l.buckets[i] = bucket{key: key, tokens: l.burst, last: now}
	}
	slotlist.Push(&l.lru, l.buckets, lruOf, i)
	b := &l.buckets[i]
	if now > b.last { // a clock that steps back refills nothing
		b.tokens = min(l.burst, b.tokens+float64(now-b.last)/float64(l.every))
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
	now := l.now().UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	i, ok := l.index[key]
	if !ok {
		return true, 0
	}
	b := &l.buckets[i]
	tokens := b.tokens
	if now > b.last {
		tokens = min(l.burst, tokens+float64(now-b.last)/float64(l.every))
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
	return len(l.index)
}
