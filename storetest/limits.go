package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// A budget allows its burst at once, then one event per interval; a
// refused event counts nothing; budgets are independent; a purge of full
// budgets forgets nothing that still counts.
func testRateLimits(t *testing.T, s strongroom.Store) {
	r := strongroom.Rate{Every: 2 * time.Second, Burst: 3}
	// A take answers when the budget is full again.
	if ok, full, err := s.TakeLimit(context.Background(), "verify-addr:192.0.2.9", r, 2, t0); err != nil || !ok || !full.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("2 of a fresh budget: ok=%v, full again at %v, %v; want t0+4s", ok, full, err)
	}
	take := func(key string, at time.Time) (bool, time.Duration) {
		t.Helper()
		return takeLimit(t, s, key, r, 1, at)
	}
	for i := 1; i <= 3; i++ {
		if ok, _ := take("verify-addr:192.0.2.1", t0); !ok {
			t.Fatalf("event %d of a burst of 3 refused", i)
		}
	}
	for i := 0; i < 5; i++ { // refusals do not push the budget back
		if ok, wait := take("verify-addr:192.0.2.1", t0.Add(500*time.Millisecond)); ok || wait != 1500*time.Millisecond {
			t.Fatalf("a 4th event at once: ok=%v wait=%v, want refused for 1.5s", ok, wait)
		}
	}
	if ok, _ := take("verify-addr:192.0.2.2", t0); !ok {
		t.Fatal("another address's budget is spent by the first one's events")
	}
	if ok, _ := take("verify-addr:192.0.2.1", t0.Add(2*time.Second)); !ok {
		t.Fatal("one event is refused after one interval")
	}
	if ok, wait := take("verify-addr:192.0.2.1", t0.Add(3*time.Second)); ok || wait != time.Second {
		t.Fatalf("a second event within that interval: ok=%v wait=%v, want refused for 1s", ok, wait)
	}
	// A clock behind the store's (another server's) refills nothing.
	if ok, _ := take("verify-addr:192.0.2.1", t0); ok {
		t.Fatal("a clock that steps back refilled the budget")
	}
	// Long idle: full again, the whole burst, whether or not a purge ran.
	later := t0.Add(time.Hour)
	for i := 1; i <= 3; i++ {
		if ok, _ := take("verify-addr:192.0.2.1", later); !ok {
			t.Fatalf("event %d after an hour refused", i)
		}
	}
	if ok, _ := take("verify-addr:192.0.2.1", later); ok {
		t.Fatal("a 4th event after an hour allowed")
	}
	// A purge (at most once a minute, on a take) forgets full budgets only:
	// one that refills in an hour is still spent two minutes on.
	slow := strongroom.Rate{Every: time.Hour, Burst: 1}
	if ok, _ := takeLimit(t, s, "send-login:u1", slow, 1, later); !ok {
		t.Fatal("a fresh budget refused")
	}
	if ok, _ := take("verify-addr:192.0.2.3", later.Add(2*time.Minute)); !ok {
		t.Fatal("a fresh address refused")
	}
	if ok, wait := takeLimit(t, s, "send-login:u1", slow, 1, later.Add(2*time.Minute)); ok || wait != 58*time.Minute {
		t.Fatalf("a spent budget after a purge: ok=%v wait=%v; want refused for 58m", ok, wait)
	}
	// Several events at once: all or none.
	many := strongroom.Rate{Every: time.Second, Burst: 10}
	for _, step := range []struct {
		n    int
		ok   bool
		wait time.Duration
	}{{7, true, 0}, {4, false, time.Second}, {3, true, 0}, {1, false, time.Second}} {
		if ok, wait := takeLimit(t, s, "values-read:u2", many, step.n, t0); ok != step.ok || wait != step.wait {
			t.Fatalf("take %d of 10: ok=%v wait=%v; want %v %v", step.n, ok, wait, step.ok, step.wait)
		}
	}
}

// takeLimit takes n events at at, and returns whether they were taken or
// how long the store's answer says to wait.
func takeLimit(t *testing.T, s strongroom.Store, key string, r strongroom.Rate, n int, at time.Time) (bool, time.Duration) {
	t.Helper()
	ok, full, err := s.TakeLimit(context.Background(), key, r, n, at)
	if err != nil {
		t.Fatalf("TakeLimit(%s): %v", key, err)
	}
	if !ok {
		_, _, wait := r.Take(full, at, n)
		return false, wait
	}
	return true, 0
}

// Parallel takers get exactly the burst, however the store interleaves
// them.
func testConcurrentRateLimits(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	r := strongroom.Rate{Every: time.Hour, Burst: 10}
	var allowed, refused atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, full, err := s.TakeLimit(ctx, "login-addr:198.51.100.7", r, 1, t0)
			_, _, wait := r.Take(full, t0, 1)
			switch {
			case err != nil:
				t.Error(err)
			case ok:
				allowed.Add(1)
			case wait <= 0 || wait > r.Every:
				t.Errorf("refused with wait %v", wait)
			default:
				refused.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if allowed.Load() != 10 || refused.Load() != 40 {
		t.Fatalf("50 parallel events on a burst of 10: %d allowed, %d refused", allowed.Load(), refused.Load())
	}
}
