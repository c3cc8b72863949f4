package ratelimit

import (
	"context"
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
type Shared struct {
	name  string
	rate  strongroom.Rate
	local *Limiter
	store strongroom.LimitStore
	now   func() time.Time
}

// NewShared returns the limit named name (the budgets' keys in the store
// are name:key) of r per key.
func NewShared(name string, r strongroom.Rate, store strongroom.LimitStore, now func() time.Time) *Shared {
	if now == nil {
		now = time.Now
	}
	return &Shared{name: name, rate: r, local: New(r.Every, r.Burst, 100_000, now), store: store, now: now}
}

// Allow takes one event for key. If none is left it returns false and how
// long until one is (at least a second, as Retry-After counts seconds).
func (s *Shared) Allow(ctx context.Context, key string) (bool, time.Duration, error) {
	return s.AllowN(ctx, key, 1)
}

// AllowN takes n events for key at once (more than the burst count as the
// burst), or none, as Allow.
func (s *Shared) AllowN(ctx context.Context, key string, n int) (bool, time.Duration, error) {
	if ok, wait := s.local.AllowN(key, n); !ok {
		return false, wait, nil
	}
	ok, wait, err := s.store.TakeLimit(ctx, s.name+":"+key, s.rate, n, s.now())
	if err != nil || ok {
		return ok, 0, err
	}
	return false, max(wait, time.Second), nil
}
