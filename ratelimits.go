package strongroom

import (
	"context"
	"time"
)

// Rate is a rate limit: Burst events at once, then one more every Every.
type Rate struct {
	Every time.Duration
	Burst int
}

// Take applies r to a budget that is full again at full (the zero time:
// never used) for n events at now (n is at least 1; more than Burst count
// as Burst). It returns the budget's new full time and true, or, when
// fewer than n events are left, false and how long until they are (the
// budget unchanged). This is the generic cell rate algorithm: a
// token bucket kept as one time, so a store can apply it in one atomic
// update.
func (r Rate) Take(full, now time.Time, n int) (next time.Time, ok bool, wait time.Duration) {
	n = min(max(n, 1), r.Burst)
	if full.Before(now) {
		full = now
	}
	if limit := now.Add(time.Duration(r.Burst-n) * r.Every); full.After(limit) {
		return full, false, full.Sub(limit)
	}
	return full.Add(time.Duration(n) * r.Every), true, 0
}

// LimitStore keeps rate-limit budgets where every server on the store
// counts against the same ones.
type LimitStore interface {
	// TakeLimit takes n events from the budget named key at now by r's
	// rule (Rate.Take), in one atomic step, and returns when the budget is
	// full again: after the take, or, when fewer than n are left (ok
	// false, and nothing counted), as it stands, from which Rate.Take
	// tells how long to wait. Budgets that are full again may be
	// forgotten.
	TakeLimit(ctx context.Context, key string, r Rate, n int, now time.Time) (ok bool, full time.Time, err error)
}
