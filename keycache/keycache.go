// Package keycache keeps unwrapped data keys in memory for a bounded time
// and count, so a read does not cost a key-manager round trip (like MongoDB
// CSFLE's 60-second key cache). Concurrent misses for one user share a
// single load, so a miss costs exactly one unwrap.
//
// Cached keys are shared by concurrent requests, so eviction drops them for
// the garbage collector instead of zeroing them under a reader.
package keycache

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/strongroom/strongroom/envelope"
)

// Defaults for the cache bounds.
const (
	DefaultTTL  = 60 * time.Second
	DefaultSize = 10_000
)

// Cache maps a user id to that user's data key.
type Cache struct {
	ttl  time.Duration
	max  int
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*list.Element
	lru  *list.List // front = most recently used
	load map[string]*call

	// hits and misses count Get's answers, for the operator's metrics:
	// a low hit rate means the cache is too small or its keys live too
	// short, and every miss costs a key-manager call. Counted under mu,
	// which every Get takes anyway.
	hits, misses uint64
}

type entry struct {
	id      string
	key     *envelope.Key
	expires time.Time
}

type call struct {
	done chan struct{}
	key  *envelope.Key
	err  error
}

// New returns a cache holding at most size keys, each for at most ttl.
func New(ttl time.Duration, size int, now func() time.Time) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if size <= 0 {
		size = DefaultSize
	}
	if now == nil {
		now = time.Now
	}
	return &Cache{ttl: ttl, max: size, now: now, byID: map[string]*list.Element{}, lru: list.New(), load: map[string]*call{}}
}

// Get returns the user's key, calling load on a miss. Concurrent callers
// for the same user wait for one load. Errors are not cached.
func (c *Cache) Get(ctx context.Context, id string, load func(context.Context) (*envelope.Key, error)) (*envelope.Key, error) {
	c.mu.Lock()
	if el, ok := c.byID[id]; ok {
		e := el.Value.(*entry)
		if c.now().Before(e.expires) {
			c.lru.MoveToFront(el)
			c.hits++
			c.mu.Unlock()
			return e.key, nil
		}
		c.remove(el)
	}
	// A miss, whether this call loads the key or waits for another's load.
	c.misses++
	if cl, ok := c.load[id]; ok {
		c.mu.Unlock()
		select {
		case <-cl.done:
			return cl.key, cl.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	cl := &call{done: make(chan struct{})}
	c.load[id] = cl
	c.mu.Unlock()

	cl.key, cl.err = load(ctx)

	c.mu.Lock()
	delete(c.load, id)
	if cl.err == nil {
		c.put(id, cl.key)
	}
	c.mu.Unlock()
	close(cl.done)
	return cl.key, cl.err
}

// Put stores a key, for a freshly made one that needs no unwrap.
func (c *Cache) Put(id string, key *envelope.Key) {
	c.mu.Lock()
	c.put(id, key)
	c.mu.Unlock()
}

func (c *Cache) put(id string, key *envelope.Key) {
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
	c.byID[id] = c.lru.PushFront(&entry{id: id, key: key, expires: c.now().Add(c.ttl)})
	for c.lru.Len() > c.max {
		c.remove(c.lru.Back())
	}
}

// Delete drops the user's key, if cached.
func (c *Cache) Delete(id string) {
	c.mu.Lock()
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
	c.mu.Unlock()
}

// Stats returns how many Gets found their key cached (hits) and how many
// had to load it or wait for a load (misses), since the cache was made.
func (c *Cache) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Len returns how many keys are cached (expired ones included until touched).
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

func (c *Cache) remove(el *list.Element) {
	delete(c.byID, el.Value.(*entry).id)
	c.lru.Remove(el)
}
