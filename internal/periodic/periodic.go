// Package periodic lets housekeeping that may run on any request (purging
// expired rows, say) run at most once per interval, instead of on every
// request of a hot path.
package periodic

import (
	"sync/atomic"
	"time"
)

// Gate admits one caller per interval. The zero Gate admits the first.
type Gate struct{ last atomic.Int64 }

// Due reports whether the work should run at now: true for exactly one
// caller once every has passed since the last admitted one (by now's
// clock, so an injected clock drives it).
func (g *Gate) Due(now time.Time, every time.Duration) bool {
	last := g.last.Load()
	n := now.UnixNano()
	if last != 0 && n-last < int64(every) && n >= last {
		return false
	}
	return g.last.CompareAndSwap(last, n)
}
