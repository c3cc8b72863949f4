package ratelimit_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/ratelimit"
	"github.com/strongroom/strongroom/sqlite"
)

// openStore opens a real store for the limits, in a temp dir.
func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Two servers' limits on one store count against one budget: what one
// server allows, both together allow, not twice as much.
func TestSharedAcrossServers(t *testing.T) {
	db := openStore(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	r := strongroom.Rate{Every: 2 * time.Second, Burst: 6}
	a := ratelimit.NewShared("verify-addr", r, db, clock)
	b := ratelimit.NewShared("verify-addr", r, db, clock)
	allowed := 0
	for i := 0; i < 10; i++ {
		for _, s := range []*ratelimit.Shared{a, b} {
			ok, wait, err := s.Allow(context.Background(), "203.0.113.9")
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				allowed++
			} else if wait < time.Second {
				t.Fatalf("refused with Retry-After %v", wait)
			}
		}
	}
	if allowed != 6 {
		t.Fatalf("20 events over two servers with a budget of 6: %d allowed", allowed)
	}
	// Another limit of the same key has a budget of its own.
	c := ratelimit.NewShared("send-addr", r, db, clock)
	if ok, _, _ := c.Allow(context.Background(), "203.0.113.9"); !ok {
		t.Fatal("another limit's budget was spent by the first one")
	}
	// One interval later, one more event, on whichever server.
	now = now.Add(2 * time.Second)
	if ok, _, _ := b.Allow(context.Background(), "203.0.113.9"); !ok {
		t.Fatal("no event after one interval")
	}
	if ok, _, _ := a.Allow(context.Background(), "203.0.113.9"); ok {
		t.Fatal("two events after one interval")
	}
}

// counting counts the takes that reach the store.
type counting struct {
	strongroom.LimitStore
	takes int
}

func (c *counting) TakeLimit(ctx context.Context, key string, r strongroom.Rate, n int, now time.Time) (bool, time.Time, error) {
	c.takes++
	return c.LimitStore.TakeLimit(ctx, key, r, n, now)
}

// With a credit, a key that spends little costs no store write at all,
// and a busy one a store write per chunk; two servers together let it
// through the budget, and at most a chunk each more.
func TestSharedCredit(t *testing.T) {
	db := openStore(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	store := &counting{LimitStore: db}
	r := strongroom.Rate{Every: time.Hour, Burst: 100}
	a := ratelimit.NewShared("values-read", r, store, clock).WithCredit(20, 10*time.Second)
	b := ratelimit.NewShared("values-read", r, store, clock).WithCredit(20, 10*time.Second)
	allow := func(s *ratelimit.Shared, key string, n int) bool {
		ok, _, err := s.AllowN(context.Background(), key, n)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Many keys, a few events each, on both servers: no store call.
	for i := range 1000 {
		for _, s := range []*ratelimit.Shared{a, b} {
			if !allow(s, fmt.Sprintf("light%d", i), 3) || !allow(s, fmt.Sprintf("light%d", i), 3) {
				t.Fatal("a light key was refused")
			}
		}
	}
	if store.takes != 0 {
		t.Fatalf("%d store takes for keys within their credit", store.takes)
	}
	// One key, spending until refused.
	allowed := 0
	for i := 0; i < 100; i++ {
		for _, s := range []*ratelimit.Shared{a, b} {
			if allow(s, "u1", 3) {
				allowed += 3
			}
		}
	}
	if allowed < 100-3 || allowed > 100+2*20 {
		t.Fatalf("two servers let %d through of a budget of 100, credits of 20", allowed)
	}
	// About one take a chunk, then one a request once the budget has
	// less than a chunk left.
	if store.takes > 20 {
		t.Fatalf("%d takes reached the store for %d events", store.takes, allowed)
	}
	t.Logf("%d events let through with %d store takes", allowed, store.takes)
	// Past the window the credit starts afresh, but the store's refusal
	// stands until the budget refills.
	now = now.Add(time.Minute)
	if allow(a, "u1", 3) {
		t.Fatal("a new window let through what the store refused")
	}
	now = now.Add(100 * time.Hour)
	if !allow(a, "u1", 3) {
		t.Fatal("refused after the budget refilled")
	}
}

// However many keys read on credit, a server remembers at most maxKeys of
// them: a million users reading once each cost it no more.
func TestSharedCreditIsBounded(t *testing.T) {
	db := openStore(t)
	s := ratelimit.NewShared("values-read", strongroom.Rate{Every: time.Millisecond, Burst: 100}, db, nil).WithCredit(20, time.Minute)
	for i := range ratelimit.MaxKeys + 1000 {
		if ok, _, err := s.AllowN(context.Background(), fmt.Sprintf("%024x", i), 1); !ok || err != nil {
			t.Fatalf("key %d refused: %v", i, err)
		}
	}
	if n := s.Remembered(); n > ratelimit.MaxKeys {
		t.Fatalf("remembers %d keys, at most %d", n, ratelimit.MaxKeys)
	}
}
