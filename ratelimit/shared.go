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
// With a reserve (WithReserve), the server takes events from the store a
// chunk at a time and spends them from its own reserve, for a limit whose
// events are many and cheap (values listed), where a store write for
// every request would cost more than the request.
type Shared struct {
	name  string
	rate  strongroom.Rate
	local *Limiter
	store strongroom.LimitStore
	now   func() time.Time

	chunk int           // events taken from the store at once; <= 1: no reserve
	hold  time.Duration // how long a reserve is spent from before it is given up
	mu    sync.Mutex
	res   map[string]reserve
	full  map[string]time.Time // when the store's budget is full again, as of its last refusal
}

type reserve struct {
	left  int
	until time.Time
}

// maxKeys bounds the keys a Shared remembers anything of (a reserve, or
// when the store's budget is full again).
const maxKeys = 100_000

// WithReserve makes s take at least chunk events from the store at a time
// (at most the burst) and spend what a request does not need from a
// reserve in this process, for up to hold; what is left then is given up,
// unused. Every event is still taken from the one budget in the store, so
// all servers together never let through more than it allows; a reserve
// left unused is lost, so a key whose requests are spread over N servers
// may get up to N × chunk fewer events in a window than the budget says.
func (s *Shared) WithReserve(chunk int, hold time.Duration) *Shared {
	s.chunk, s.hold = min(chunk, s.rate.Burst), hold
	return s
}

// NewShared returns the limit named name (the budgets' keys in the store
// are name:key) of r per key.
func NewShared(name string, r strongroom.Rate, store strongroom.LimitStore, now func() time.Time) *Shared {
	if now == nil {
		now = time.Now
	}
	return &Shared{name: name, rate: r, local: New(r.Every, r.Burst, 100_000, now), store: store, now: now,
		res: map[string]reserve{}, full: map[string]time.Time{}}
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
	if r, ok := s.res[key]; ok && now.Before(r.until) && r.left >= n {
		r.left -= n
		s.res[key] = r
		s.mu.Unlock()
		return true, 0, nil
	}
	s.mu.Unlock()
	// With a reserve, a chunk from the store, or, if the budget has less
	// left, what the request needs.
	took := max(n, s.chunk)
	ok, full, err := s.store.TakeLimit(ctx, s.name+":"+key, s.rate, took, now)
	if err == nil && !ok && took > n {
		if _, fits, _ := s.rate.Take(full, now, n); fits {
			took = n
			ok, full, err = s.store.TakeLimit(ctx, s.name+":"+key, s.rate, n, now)
		}
	}
	if err != nil {
		return false, 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.full) >= maxKeys || len(s.res) >= maxKeys {
		clear(s.full) // forgetting only costs store calls
		clear(s.res)  // giving reserves up only lets through less
	}
	if !ok {
		s.full[key] = full
		_, _, wait := s.rate.Take(full, now, n)
		return false, max(wait, time.Second), nil
	}
	if took > n {
		left := took - n
		if r, held := s.res[key]; held && now.Before(r.until) {
			left += r.left
		}
		s.res[key] = reserve{left: left, until: now.Add(s.hold)}
	}
	return true, 0, nil
}
