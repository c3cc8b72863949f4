package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/strongroom/strongroom"
)

// Shared is a rate limit that holds for every server on one store: the
// number that counts is kept in the store (strongroom.LimitStore), so N
// replicas allow what one would. This process's own Limiter with the same
// rate stands in front of it and refuses, without a store call, what this
// process alone has seen too much of: a flood aimed at one server costs
// the store nothing. The local budget also spends events that the store
// then refuses, so a client past its limit can be refused by one server a
// little longer than the store alone would; a client within it never is.
//
// With a credit (WithCredit), a server lets a key spend a few events in a
// window before it asks the store, for a limit whose events are many and
// cheap (values read), where a store write for every request would cost
// more than the request, and most keys never come near the limit.
type Shared struct {
	name  string
	rate  strongroom.Rate
	local *Limiter
	store strongroom.LimitStore
	now   func() time.Time

	chunk  int           // events a key may spend unsettled per window; <= 1: none
	window time.Duration // how long a credit runs before it starts afresh
	mu     sync.Mutex
	credit map[string]credit
	full   map[string]time.Time // when the store's budget is full again, as of its last refusal
}

type credit struct {
	used  int32 // events let through and not yet taken from the store
	until int64 // unix nanoseconds: when the window ends
}

// maxKeys bounds the keys a Shared remembers anything of (a credit, or
// when the store's budget is full again).
const maxKeys = 100_000

// WithCredit lets a key spend up to chunk events (at most the burst) per
// window on this server without a store call. An event past that takes
// from the store every event spent since the window began, and itself, at
// once; what a window spent and never took is forgiven when it ends. So a
// key with few events costs no store write at all, a busy one a store
// write per chunk events, and all servers together let a key through at
// most N × chunk events per window more than the budget (N servers).
func (s *Shared) WithCredit(chunk int, window time.Duration) *Shared {
	s.chunk, s.window = min(chunk, s.rate.Burst), window
	return s
}

// NewShared returns the limit named name (the budgets' keys in the store
// are name:key) of r per key.
func NewShared(name string, r strongroom.Rate, store strongroom.LimitStore, now func() time.Time) *Shared {
	if now == nil {
		now = time.Now
	}
	return &Shared{name: name, rate: r, local: New(r.Every, r.Burst, 100_000, now), store: store, now: now,
		credit: map[string]credit{}, full: map[string]time.Time{}}
}

// Allow takes one event for key. If none is left it returns false and how
// long until one is (at least a second, as Retry-After counts seconds).
func (s *Shared) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	return s.AllowN(ctx, key, 1)
}

// Refuses reports, without taking anything or asking the store, whether n
// events for key are sure to be refused (by this server's own count, or
// by what the store last refused), and how long until they may not be:
// for a request to be refused before any work is done for it.
func (s *Shared) Refuses(key string, n int) (bool, time.Duration) {
	if ok, wait := s.local.Peek(key, n); !ok {
		return true, wait
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if full, ok := s.full[key]; ok {
		if _, ok, wait := s.rate.Take(full, s.now(), n); !ok {
			return true, max(wait, time.Second)
		}
	}
	return false, 0
}

// AllowN takes n events for key at once (more than the burst count as the
// burst), or none, as Allow.
func (s *Shared) AllowN(ctx context.Context, key string, n int) (bool, time.Duration, error) {
	if ok, wait := s.local.AllowN(key, n); !ok {
		return false, wait, nil
	}
	n = min(max(n, 1), s.rate.Burst)
	now := s.now()
	s.mu.Lock()
	// What the store last refused tells, until the budget refills, that
	// it would refuse again: the budget can only fill with time.
	if full, ok := s.full[key]; ok {
		if _, ok, wait := s.rate.Take(full, now, n); !ok {
			s.mu.Unlock()
			return false, max(wait, time.Second), nil
		}
		delete(s.full, key)
	}
	c := s.credit[key]
	if now.UnixNano() >= c.until {
		c = credit{until: now.Add(s.window).UnixNano()} // the last window's debt is forgiven
	}
	if s.chunk > 1 && int(c.used)+n <= s.chunk {
		c.used += int32(n)
		s.forget()
		s.credit[key] = c
		s.mu.Unlock()
		return true, 0, nil
	}
	s.mu.Unlock()
	// Past the credit: what the window spent, and this request, from the
	// store; if the budget cannot hold both but can hold the request, the
	// request alone.
	took := int(c.used) + n
	ok, full, err := s.store.TakeLimit(ctx, s.name+":"+key, s.rate, took, now)
	if err == nil && !ok && took > n {
		if _, fits, _ := s.rate.Take(full, now, n); fits {
			ok, full, err = s.store.TakeLimit(ctx, s.name+":"+key, s.rate, n, now)
		}
	}
	if err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forget()
	if s.chunk > 1 {
		// Settled: a new credit, unless the budget has less than a chunk
		// left, when every event goes to the store until the window ends.
		// (Refused: the store's refusal below stands until the budget
		// refills.)
		next := credit{until: c.until}
		if _, fits, _ := s.rate.Take(full, now, s.chunk); !ok || !fits {
			next.used = int32(s.chunk)
		}
		s.credit[key] = next
	}
	if !ok {
		s.full[key] = full
		_, _, wait := s.rate.Take(full, now, n)
		return false, max(wait, time.Second), nil
	}
	return true, 0, nil
}

// forget empties what s remembers once it holds maxKeys keys, before one
// more is added: forgetting refusals only costs store calls, forgiving
// credits lets through at most a chunk a key more.
func (s *Shared) forget() {
	if len(s.full) >= maxKeys || len(s.credit) >= maxKeys {
		clear(s.full)
		clear(s.credit)
	}
}
