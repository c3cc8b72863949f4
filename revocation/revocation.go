// Package revocation keeps each replica's view of the sessions that have
// ended, so that a bearer token is checked against it in memory, with no
// store round trip per request. The view is the store's: ended sessions
// stay there as tombstones until their tokens expire, and every replica
// polls them (Sync, several times a second), so a session ended on one
// replica is refused by the others within one poll. The replica that ends
// a session adds it at once (Add).
//
// A view that has not been brought up to date for MaxStale is not trusted:
// Fresh reports false and the caller refuses tokens rather than accept one
// that may have ended.
package revocation

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom"
)

// Feed is where ended sessions come from: the store.
type Feed interface {
	EndedSessions(ctx context.Context, since time.Time) ([]*strongroom.Session, error)
}

// Overlap is how far back each poll looks before the newest end it has
// seen, so an end stamped by a replica whose clock is behind (up to
// Overlap), or committed a moment after a later one, is still seen.
const Overlap = 30 * time.Second

// MaxStale is how old the view may be before it is no longer trusted.
const MaxStale = 5 * time.Second

// List is a replica's view of ended sessions.
type List struct {
	feed     Feed
	now      func() time.Time // the service's clock: token expiry
	onEnd    func(*strongroom.Session)
	maxStale time.Duration

	// ended maps the id of each ended session to its token's expiry. It
	// is read on every request, without a lock: writers (a poll that
	// brings news, a local end) copy it, change the copy and publish it.
	ended atomic.Pointer[map[string]time.Time]
	// synced is when the last good poll began, in nanoseconds on the
	// monotonic clock since base; 0: never.
	synced atomic.Int64
	base   time.Time

	mu     sync.Mutex // writers
	newest time.Time  // the newest end seen in the feed
	pruned time.Time
}

// New returns an empty List over feed; now is the clock tokens expire by.
// onEnd, if set, is called once for each session the feed brings that
// the list did not know (not for those added with Add).
func New(feed Feed, now func() time.Time, onEnd func(*strongroom.Session)) *List {
	if now == nil {
		now = time.Now
	}
	l := &List{feed: feed, now: now, onEnd: onEnd, maxStale: MaxStale, base: time.Now()}
	l.ended.Store(&map[string]time.Time{})
	return l
}

// Ended reports whether the session id has ended.
func (l *List) Ended(id string) bool {
	_, ok := (*l.ended.Load())[id]
	return ok
}

// Fresh reports whether the view was brought up to date within MaxStale
// (by the monotonic clock, whatever the service's clock says).
func (l *List) Fresh() bool {
	synced := l.synced.Load()
	return synced != 0 && time.Since(l.base)-time.Duration(synced) < l.maxStale
}

// Add records sessions this replica has just ended.
func (l *List) Add(ss ...*strongroom.Session) {
	if len(ss) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.copyEnded(len(ss))
	for _, s := range ss {
		m[s.ID] = s.ExpiresAt
	}
	l.ended.Store(&m)
}

// copyEnded returns a copy of the ended map with room for extra more;
// l.mu must be held.
func (l *List) copyEnded(extra int) map[string]time.Time {
	old := *l.ended.Load()
	m := make(map[string]time.Time, len(old)+extra)
	for id, exp := range old {
		m[id] = exp
	}
	return m
}

// Len returns how many ended sessions the list holds.
func (l *List) Len() int { return len(*l.ended.Load()) }

// Sync brings the view up to date with one poll of the feed.
func (l *List) Sync(ctx context.Context) error {
	start := time.Since(l.base)
	l.mu.Lock()
	since := l.newest
	l.mu.Unlock()
	if !since.IsZero() {
		since = since.Add(-Overlap)
	}
	ss, err := l.feed.EndedSessions(ctx, since)
	if err != nil {
		return err
	}
	now := l.now()
	var fresh []*strongroom.Session
	l.mu.Lock()
	cur := *l.ended.Load()
	for _, s := range ss {
		// Not past this replica's own time: an end stamped in its future
		// by a replica whose clock runs ahead would move every later poll
		// past the ends that replicas with right clocks stamp meanwhile.
		// Such an end is read again by each poll until then; it is added
		// once.
		if s.EndedAt.After(l.newest) {
			l.newest = minTime(s.EndedAt, now)
		}
		if _, ok := cur[s.ID]; !ok && now.Before(s.ExpiresAt) {
			fresh = append(fresh, s)
		}
	}
	prune := now.Sub(l.pruned) >= time.Minute || now.Before(l.pruned)
	if len(fresh) > 0 || prune {
		m := l.copyEnded(len(fresh))
		for _, s := range fresh {
			m[s.ID] = s.ExpiresAt
		}
		if prune {
			l.pruned = now
			for id, exp := range m {
				if !now.Before(exp) {
					delete(m, id) // its token is refused as expired anyway
				}
			}
		}
		l.ended.Store(&m)
	}
	l.synced.Store(int64(max(start, 1)))
	l.mu.Unlock()
	if l.onEnd != nil {
		for _, s := range fresh {
			l.onEnd(s)
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// Run polls the feed every interval until ctx ends, reporting failed
// polls to fail (which may be nil).
func (l *List) Run(ctx context.Context, interval time.Duration, fail func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, l.maxStale)
		err := l.Sync(pctx)
		cancel()
		if err != nil && ctx.Err() == nil && fail != nil {
			fail(err)
		}
	}
}
