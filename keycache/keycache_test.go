package keycache_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/keycache"
)

type loader struct{ calls atomic.Int32 }

func (l *loader) load(context.Context) (*envelope.Key, error) {
	l.calls.Add(1)
	time.Sleep(5 * time.Millisecond) // let concurrent callers pile up
	return envelope.NewKey(rand.Reader)
}

func TestHitMissAndExpiry(t *testing.T) {
	ctx := context.Background()
	clk := testclock.New(time.Unix(0, 0))
	c := keycache.New(time.Minute, 10, clk.Now)
	l := &loader{}
	k1, err := c.Get(ctx, "u1", l.load)
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := c.Get(ctx, "u1", l.load)
	if k1 != k2 || l.calls.Load() != 1 {
		t.Fatalf("second Get loaded again (%d loads)", l.calls.Load())
	}
	clk.Add(61 * time.Second)
	if _, _ = c.Get(ctx, "u1", l.load); l.calls.Load() != 2 {
		t.Fatalf("expired key not reloaded (%d loads)", l.calls.Load())
	}
	// A Put is neither: it answers no Get.
	c.Put("u2", k1)
	if hits, misses := c.Stats(); hits != 1 || misses != 2 {
		t.Fatalf("Stats() = %d hits, %d misses; want 1, 2 (first Get, then the expired key)", hits, misses)
	}
}

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c := keycache.New(time.Minute, 10, nil)
	l := &loader{}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Get(context.Background(), "u1", l.load); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent misses made %d loads, want 1", n)
	}
}

func TestSizeBound(t *testing.T) {
	ctx := context.Background()
	c := keycache.New(time.Minute, 3, nil)
	l := &loader{}
	for _, id := range []string{"a", "b", "c", "a", "d"} { // "b" is least recently used
		_, _ = c.Get(ctx, id, l.load)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	before := l.calls.Load()
	_, _ = c.Get(ctx, "a", l.load)
	if l.calls.Load() != before {
		t.Fatal("recently used key was evicted")
	}
	_, _ = c.Get(ctx, "b", l.load)
	if l.calls.Load() != before+1 {
		t.Fatal("least recently used key was kept")
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	ctx := context.Background()
	c := keycache.New(time.Minute, 3, nil)
	boom := errors.New("key manager down")
	if _, err := c.Get(ctx, "u", func(context.Context) (*envelope.Key, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	l := &loader{}
	if _, err := c.Get(ctx, "u", l.load); err != nil || l.calls.Load() != 1 {
		t.Fatalf("after an error the next Get did not load: %v", err)
	}
	c.Delete("u")
	_, _ = c.Get(ctx, "u", l.load)
	if l.calls.Load() != 2 {
		t.Fatal("Delete did not drop the key")
	}
}
