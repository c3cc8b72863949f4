package ratelimit_test

import (
	"context"
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

// With a reserve, two servers take events from the store a chunk at a
// time: far fewer store writes, and together never more than the budget.
func TestSharedReserve(t *testing.T) {
	db := openStore(t)
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	store := &counting{LimitStore: db}
	r := strongroom.Rate{Every: time.Hour, Burst: 100}
	a := ratelimit.NewShared("values-read", r, store, clock).WithReserve(20, 10*time.Second)
	b := ratelimit.NewShared("values-read", r, store, clock).WithReserve(20, 10*time.Second)
	allowed := 0
	for i := 0; i < 100; i++ {
		for _, s := range []*ratelimit.Shared{a, b} {
			ok, _, err := s.AllowN(context.Background(), "u1", 3)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				allowed += 3
			}
		}
	}
	// Each server holds a chunk of 20 at a time; what they let through
	// is within the budget, and short of it by at most what one reserve
	// can leave unused on each server.
	if allowed > 100 || allowed < 100-2*20 {
		t.Fatalf("two servers let %d through of a budget of 100", allowed)
	}
	if store.takes > 20 {
		t.Fatalf("%d takes reached the store for %d events", store.takes, allowed)
	}
	t.Logf("%d events let through with %d store takes", allowed, store.takes)
	// A reserve is given up after its hold: the budget, refilled, is
	// taken afresh.
	now = now.Add(100 * time.Hour)
	if ok, _, _ := a.AllowN(context.Background(), "u1", 3); !ok {
		t.Fatal("refused after the budget refilled")
	}
}
