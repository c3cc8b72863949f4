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
// never used) for one event at now. It returns the budget's new full time
// and true, or, when no event is left, false and how long until one is
// (the budget unchanged). This is the generic cell rate algorithm: a
// token bucket kept as one time, so a store can apply it in one atomic
// update.
func (r Rate) Take(full, now time.Time) (next time.Time, ok bool, wait time.Duration) {
	if full.Before(now) {
		full = now
	}
	if limit := now.Add(time.Duration(r.Burst-1) * r.Every); full.After(limit) {
		return full, false, full.Sub(limit)
	}
	return full.Add(r.Every), true, 0
}

// LimitStore keeps rate-limit budgets where every server on the store
// counts against the same ones.
type LimitStore interface {
	// TakeLimit takes one event from the budget named key at now by r's
	// rule (Rate.Take), in one atomic step: false and the wait when none is
	// left, and then nothing is counted. Budgets that are full again may
	// be forgotten.
	TakeLimit(ctx context.Context, key string, r Rate, now time.Time) (ok bool, wait time.Duration, err error)
}
