// Package keycache keeps unwrapped data keys in memory, so a read does not
// cost a key-manager call, within a memory budget and two time bounds: a
// key unused for the TTL is dropped, and so is every key MaxAge after it
// was unwrapped, however often it is used. A dropped key is zeroed.
//
// The keys' bytes live in one block of memory of their own, reserved
// once for the capacity (untouched pages take no memory), kept out of core dumps and, where the process may, locked out of
// swap (Linux). A caller never holds the cache's memory: Get returns a
// copy, an envelope.Key for one request, which the caller zeroes after use
// (Key.Zero). So a key can be zeroed the moment it is dropped, whoever is
// still decrypting with their copy.
//
// Concurrent misses for one user share one load; Batcher makes concurrent
// misses for different users share one key-manager call.
package keycache

import (
	"context"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/slotlist"
)

// Defaults for the cache's bounds.
const (
	DefaultMaxBytes = 32 << 20
	DefaultTTL      = 60 * time.Second
	DefaultMaxAge   = 30 * time.Minute
)

// EntryBytes is what one cached key costs in memory, bookkeeping
// included (its id, its place in the recency and age lists, its map
// entry): the cache holds MaxBytes/EntryBytes keys. TestMemoryWithinBudget
// measures it.
const EntryBytes = 176

// Config bounds a cache. Zero values take the defaults.
type Config struct {
	MaxBytes int64         // memory for the keys and their bookkeeping
	TTL      time.Duration // a key unused this long is dropped
	MaxAge   time.Duration // a key is dropped this long after it was loaded
	Now      func() time.Time
}

// Cache maps a user id to that user's data key.
type Cache struct {
	ttl, maxAge int64 // nanoseconds
	now         func() time.Time

	mu    sync.Mutex
	keys  []byte // slot i's key is keys[i*KeySize:][:KeySize]
	slots []slot // grown as keys come, up to capacity
	max   int
	byID  map[string]int32
	free  []int32 // slots dropped and not in use again
	// The recency list runs from the most recently used slot to the
	// least, the age list from the one loaded last to the one loaded
	// first.
	recent, age slotlist.List
	load        map[string]*call
	locked      bool

	// hits and misses count Get's answers, for the operator's metrics:
	// a low hit rate means the cache is too small or its keys live too
	// short, and every miss costs a key-manager call. Counted under mu,
	// which every Get takes anyway.
	hits, misses uint64
}

type slot struct {
	id           string
	used, loaded int64          // unix nanoseconds
	recent, age  slotlist.Links // places in the recency and age lists
}

func recentOf(s *slot) *slotlist.Links { return &s.recent }
func ageOf(s *slot) *slotlist.Links    { return &s.age }

type call struct {
	done   chan struct{}
	raw    []byte // the loaded key, until the last of its callers copied it
	err    error
	refs   int  // callers not yet done with raw
	forget bool // deleted while loading: not to be cached
}

// New returns an empty cache with the bounds of cfg.
func New(cfg Config) *Cache {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	n := int(max(1, min(cfg.MaxBytes/EntryBytes, 1<<31-1)))
	c := &Cache{ttl: int64(cfg.TTL), maxAge: int64(cfg.MaxAge), now: cfg.Now, max: n,
		byID: map[string]int32{}, load: map[string]*call{}, recent: slotlist.New(), age: slotlist.New()}
	var release func()
	c.keys, release, c.locked = allocKeys(n * envelope.KeySize)
	// The block is zeroed and returned when the cache is collected.
	runtime.AddCleanup(c, func(f func()) { f() }, release)
	return c
}

// Capacity returns how many keys the cache holds at most.
func (c *Cache) Capacity() int { return c.max }

// Locked reports whether the keys' memory is locked out of swap.
func (c *Cache) Locked() bool { return c.locked }

// Get returns a copy of the user's key, calling load on a miss for the key's
// bytes (which the cache zeroes once it has copied them). Concurrent
// callers for the same user wait for one load. Errors are not cached. The
// caller zeroes the key after use.
func (c *Cache) Get(ctx context.Context, id string, load func(context.Context) ([]byte, error)) (*envelope.Key, error) {
	c.mu.Lock()
	now := c.now().UnixNano()
	c.expire(now)
	if i, ok := c.byID[id]; ok {
		c.slots[i].used = now
		slotlist.Unlink(&c.recent, c.slots, recentOf, i)
		slotlist.Push(&c.recent, c.slots, recentOf, i)
		c.hits++
		var b [envelope.KeySize]byte
		copy(b[:], c.key(i))
		c.mu.Unlock()
		k, err := envelope.KeyFromBytes(b[:])
		clear(b[:])
		return k, err
	}
	// A miss, whether this call loads the key or waits for another's load.
	c.misses++
	cl, ok := c.load[id]
	if ok {
		cl.refs++
		c.mu.Unlock()
		select {
		case <-cl.done:
		case <-ctx.Done():
			c.mu.Lock()
			c.release(cl)
			c.mu.Unlock()
			return nil, ctx.Err()
		}
	} else {
		cl = &call{done: make(chan struct{}), refs: 1}
		c.load[id] = cl
		c.mu.Unlock()

		raw, err := load(ctx)
		if err == nil && len(raw) != envelope.KeySize {
			clear(raw)
			raw, err = nil, errKeySize
		}
		c.mu.Lock()
		delete(c.load, id)
		cl.raw, cl.err = raw, err
		if err == nil && !cl.forget {
			c.put(id, raw)
		}
		close(cl.done)
		c.mu.Unlock()
	}
	if cl.err != nil {
		c.mu.Lock()
		c.release(cl)
		c.mu.Unlock()
		return nil, cl.err
	}
	// The loaded bytes stay in cl.raw until every caller has its copy;
	// they are read only, so no lock is needed to copy them.
	k, err := envelope.KeyFromBytes(cl.raw)
	c.mu.Lock()
	c.release(cl)
	c.mu.Unlock()
	return k, err
}

// release marks one caller done with a load's bytes; the last zeroes them.
func (c *Cache) release(cl *call) {
	if cl.refs--; cl.refs == 0 {
		clear(cl.raw)
	}
}

// Put stores a key, for a freshly made one that needs no unwrap.
func (c *Cache) Put(id string, key *envelope.Key) {
	b := key.Bytes()
	c.mu.Lock()
	c.expire(c.now().UnixNano())
	c.put(id, b)
	c.mu.Unlock()
	clear(b)
}

// put copies raw into the slot of id, taking a free one (or the least
// recently used) if id has none.
func (c *Cache) put(id string, raw []byte) {
	now := c.now().UnixNano()
	i, ok := c.byID[id]
	if ok {
		slotlist.Unlink(&c.recent, c.slots, recentOf, i)
		slotlist.Unlink(&c.age, c.slots, ageOf, i)
	} else {
		if len(c.free) == 0 && len(c.slots) < c.max {
			if len(c.slots) == cap(c.slots) { // doubling, but never past the capacity
				c.slots = slices.Grow(c.slots, min(max(len(c.slots), 64), c.max-len(c.slots)))
			}
			c.slots = append(c.slots, slot{})
			c.free = append(c.free, int32(len(c.slots)-1))
		}
		if len(c.free) == 0 {
			c.drop(c.recent.Oldest)
		}
		i = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
		id = strings.Clone(id) // not a piece of a larger string kept alive
		c.byID[id] = i
		c.slots[i].id = id
	}
	copy(c.key(i), raw)
	c.slots[i].used, c.slots[i].loaded = now, now
	slotlist.Push(&c.recent, c.slots, recentOf, i)
	slotlist.Push(&c.age, c.slots, ageOf, i)
}

// Delete drops the user's key, if cached, and keeps a load under way from
// caching it.
func (c *Cache) Delete(id string) {
	c.mu.Lock()
	if i, ok := c.byID[id]; ok {
		c.drop(i)
	}
	if cl, ok := c.load[id]; ok {
		cl.forget = true
	}
	c.mu.Unlock()
}

// Expire drops the keys past their TTL or their MaxAge now. Get and Put
// do so too; a server calls it each second, so that keys of users who are
// gone do not wait for the next request to be zeroed.
func (c *Cache) Expire() {
	c.mu.Lock()
	c.expire(c.now().UnixNano())
	c.mu.Unlock()
}

// expire drops, from the ends of the lists, the keys unused for the TTL
// and those loaded MaxAge ago.
func (c *Cache) expire(now int64) {
	for i := c.recent.Oldest; i != slotlist.None && now-c.slots[i].used >= c.ttl; i = c.recent.Oldest {
		c.drop(i)
	}
	for i := c.age.Oldest; i != slotlist.None && now-c.slots[i].loaded >= c.maxAge; i = c.age.Oldest {
		c.drop(i)
	}
}

// drop zeroes slot i's key and frees the slot.
func (c *Cache) drop(i int32) {
	clear(c.key(i))
	slotlist.Unlink(&c.recent, c.slots, recentOf, i)
	slotlist.Unlink(&c.age, c.slots, ageOf, i)
	delete(c.byID, c.slots[i].id)
	c.slots[i] = slot{}
	c.free = append(c.free, i)
}

// Stats returns how many Gets found their key cached (hits) and how many
// had to load it or wait for a load (misses), since the cache was made.
func (c *Cache) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Len returns how many keys are cached.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byID)
}

func (c *Cache) key(i int32) []byte {
	return c.keys[int(i)*envelope.KeySize : (int(i)+1)*envelope.KeySize]
}
