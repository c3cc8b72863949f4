package keycache_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/keycache"
)

// loader hands out a fresh random key per load, remembering each.
type loader struct {
	calls atomic.Int32
	mu    sync.Mutex
	made  [][]byte
	slow  time.Duration
}

func (l *loader) load(context.Context) ([]byte, error) {
	l.calls.Add(1)
	time.Sleep(l.slow) // let concurrent callers pile up
	b := make([]byte, envelope.KeySize)
	_, _ = rand.Read(b)
	l.mu.Lock()
	l.made = append(l.made, bytes.Clone(b))
	l.mu.Unlock()
	return b, nil
}

// keys returns a cache of n keys.
func keys(n int, now func() time.Time) *keycache.Cache {
	return keycache.New(keycache.Config{MaxBytes: int64(n) * keycache.EntryBytes, TTL: time.Minute, MaxAge: 10 * time.Minute, Now: now})
}

func get(t *testing.T, c *keycache.Cache, id string, l *loader) *envelope.Key {
	t.Helper()
	k, err := c.Get(context.Background(), id, l.load)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// A key is dropped once unused for the TTL: being read keeps it.
func TestUnusedKeysExpire(t *testing.T) {
	clk := testclock.New(time.Unix(0, 0))
	c, l := keys(10, clk.Now), &loader{}
	k1 := get(t, c, "u1", l)
	for range 3 {
		clk.Add(59 * time.Second)
		if k := get(t, c, "u1", l); !k.Equal(k1) || l.calls.Load() != 1 {
			t.Fatalf("a key read every 59 s was loaded again (%d loads)", l.calls.Load())
		}
	}
	clk.Add(60 * time.Second)
	if get(t, c, "u1", l); l.calls.Load() != 2 {
		t.Fatalf("a key unused for the TTL was not loaded again (%d loads)", l.calls.Load())
	}
	// A Put is neither a hit nor a miss: it answers no Get.
	c.Put("u2", k1)
	if hits, misses := c.Stats(); hits != 3 || misses != 2 {
		t.Fatalf("Stats() = %d hits, %d misses; want 3, 2", hits, misses)
	}
}

// However often it is read, a key is loaded again MaxAge after its load.
func TestKeysHaveAMaxAge(t *testing.T) {
	clk := testclock.New(time.Unix(0, 0))
	c, l := keys(10, clk.Now), &loader{}
	get(t, c, "u1", l)
	for range 19 { // 9.5 minutes
		clk.Add(30 * time.Second)
		get(t, c, "u1", l)
	}
	if l.calls.Load() != 1 {
		t.Fatalf("%d loads within MaxAge, want 1", l.calls.Load())
	}
	clk.Add(30 * time.Second)
	if get(t, c, "u1", l); l.calls.Load() != 2 {
		t.Fatalf("a key read every 30 s outlived MaxAge (%d loads)", l.calls.Load())
	}
}

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c, l := keys(10, nil), &loader{slow: 5 * time.Millisecond}
	var wg sync.WaitGroup
	got := make([]*envelope.Key, 50)
	for i := range got {
		wg.Go(func() {
			k, err := c.Get(context.Background(), "u1", l.load)
			if err != nil {
				t.Error(err)
			}
			got[i] = k
		})
	}
	wg.Wait()
	if n := l.calls.Load(); n != 1 {
		t.Fatalf("50 concurrent misses made %d loads, want 1", n)
	}
	for i, k := range got {
		if k == nil || !k.Equal(got[0]) {
			t.Fatalf("caller %d got another key", i)
		}
	}
}

// Each caller gets a copy: zeroing it after use leaves the cache's key,
// and the others', whole.
func TestCallersGetCopies(t *testing.T) {
	c, l := keys(10, nil), &loader{}
	k1 := get(t, c, "u1", l)
	k2 := get(t, c, "u1", l)
	if k1 == k2 {
		t.Fatal("two Gets returned the same key object")
	}
	k1.Zero()
	sealed, err := k2.Seal(rand.Reader, []byte("4111111111111111"), nil)
	if err != nil {
		t.Fatal(err)
	}
	k3 := get(t, c, "u1", l)
	if _, err := k3.Open(sealed, nil); err != nil || l.calls.Load() != 1 {
		t.Fatalf("after a caller zeroed its copy the cached key is lost (%v, %d loads)", err, l.calls.Load())
	}
}

func TestSizeBound(t *testing.T) {
	c, l := keys(3, nil), &loader{}
	if c.Capacity() != 3 {
		t.Fatalf("Capacity = %d, want 3", c.Capacity())
	}
	for _, id := range []string{"a", "b", "c", "a", "d"} { // "b" is least recently used
		get(t, c, id, l)
	}
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	before := l.calls.Load()
	get(t, c, "a", l)
	if l.calls.Load() != before {
		t.Fatal("recently used key was evicted")
	}
	get(t, c, "b", l)
	if l.calls.Load() != before+1 {
		t.Fatal("least recently used key was kept")
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	ctx := context.Background()
	c, l := keys(3, nil), &loader{}
	boom := errors.New("key manager down")
	if _, err := c.Get(ctx, "u", func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := c.Get(ctx, "u", l.load); err != nil || l.calls.Load() != 1 {
		t.Fatalf("after an error the next Get did not load: %v", err)
	}
	c.Delete("u")
	get(t, c, "u", l)
	if l.calls.Load() != 2 {
		t.Fatal("Delete did not drop the key")
	}
}

// A key deleted while it is being loaded (its account's deletion began)
// is not cached when the load ends.
func TestDeleteDuringLoad(t *testing.T) {
	c, l := keys(3, nil), &loader{}
	started, release := make(chan struct{}), make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := c.Get(context.Background(), "u", func(ctx context.Context) ([]byte, error) {
			close(started)
			<-release
			return l.load(ctx)
		})
		done <- err
	}()
	<-started
	c.Delete("u")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c.Len() != 0 {
		t.Fatal("a key deleted while loading was cached")
	}
}

// No key that left the cache stays in its memory: not one unused for the
// TTL, nor one past MaxAge, nor the least recently used, nor a deleted
// one. Nor do the bytes a load returned.
func TestDroppedKeysAreZeroed(t *testing.T) {
	clk := testclock.New(time.Unix(0, 0))
	c, l := keys(2, clk.Now), &loader{}
	var loaded [][]byte
	keep := func(context.Context) ([]byte, error) {
		b, err := l.load(context.Background())
		loaded = append(loaded, b)
		return b, err
	}
	has := func(i int) bool { return bytes.Contains(c.Memory(), l.made[i]) }
	for _, id := range []string{"a", "b"} {
		if _, err := c.Get(context.Background(), id, keep); err != nil {
			t.Fatal(err)
		}
	}
	if !has(0) || !has(1) {
		t.Fatal("the cache's memory does not hold its keys")
	}
	for i, b := range loaded {
		if !bytes.Equal(b, make([]byte, envelope.KeySize)) {
			t.Fatalf("load %d's bytes were not zeroed", i)
		}
	}
	// "a" unused for the TTL, "b" read: "a" goes at the next tick.
	clk.Add(40 * time.Second)
	get(t, c, "b", l)
	clk.Add(30 * time.Second)
	c.Expire()
	if has(0) || !has(1) {
		t.Fatalf("after the TTL: a kept %v, b kept %v; want false, true", has(0), has(1))
	}
	get(t, c, "c", l) // l.made[2]
	get(t, c, "d", l) // l.made[3]: "b" is least recently used
	if has(1) || !has(2) || !has(3) {
		t.Fatal("the evicted key stayed in memory")
	}
	clk.Add(10 * time.Minute) // MaxAge for both
	get(t, c, "e", l)         // l.made[4]
	if has(2) || has(3) || !has(4) {
		t.Fatal("keys past MaxAge stayed in memory")
	}
	c.Delete("e")
	if !bytes.Equal(c.Memory(), make([]byte, len(c.Memory()))) {
		t.Fatal("the cache's memory is not all zero once every key is gone")
	}
}

// TestMemoryWithinBudget fills caches of several sizes to capacity, with
// ids as long as the users' (24 characters), and checks what the keys and
// their bookkeeping take: EntryBytes must not undercount it.
func TestMemoryWithinBudget(t *testing.T) {
	for _, budget := range []int64{1 << 20, 3 << 20, 8 << 20, keycache.DefaultMaxBytes} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := keycache.New(keycache.Config{MaxBytes: budget})
		k, _ := envelope.NewKey(rand.Reader)
		for i := range c.Capacity() {
			c.Put(fmt.Sprintf("%024x", i), k)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := int64(after.HeapAlloc) - int64(before.HeapAlloc) + int64(len(c.Memory())) // the keys' block is not the heap's on Linux
		t.Logf("%d MiB: %d keys in %d bytes, %d bytes a key (EntryBytes %d)", budget>>20, c.Len(), used, used/int64(c.Len()), keycache.EntryBytes)
		if int64(c.Len()) != budget/keycache.EntryBytes {
			t.Fatalf("Len = %d, want %d", c.Len(), budget/keycache.EntryBytes)
		}
		if used > budget {
			t.Fatalf("a full cache of %d bytes takes %d", budget, used)
		}
		runtime.KeepAlive(c)
	}
}

// Many goroutines reading, deleting and expiring users' keys in a cache
// too small for them all: every Get returns that user's key, never the
// key of a user whose slot it took over.
func TestConcurrentUseKeepsKeysApart(t *testing.T) {
	clk := testclock.New(time.Unix(0, 0))
	c := keys(8, clk.Now)
	keyOf := func(id string) []byte { // a user's key, derived from the id
		b := make([]byte, envelope.KeySize)
		copy(b, id)
		b[envelope.KeySize-1] = 0xff
		return b
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 2000 {
				id := fmt.Sprintf("user%03d", (g*7+n)%20)
				switch n % 50 {
				case 0:
					c.Delete(id)
				case 1:
					clk.Add(time.Second)
					c.Expire()
				}
				k, err := c.Get(context.Background(), id, func(context.Context) ([]byte, error) { return keyOf(id), nil })
				if err != nil {
					t.Error(err)
					return
				}
				want, _ := envelope.KeyFromBytes(keyOf(id))
				if !k.Equal(want) {
					t.Errorf("Get(%s) returned another user's key", id)
					return
				}
				k.Zero()
			}
		})
	}
	wg.Wait()
	if c.Len() > c.Capacity() {
		t.Fatalf("Len %d over capacity %d", c.Len(), c.Capacity())
	}
}
