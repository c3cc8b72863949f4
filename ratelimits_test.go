package strongroom

import (
	"testing"
	"time"
)

// TestRateTake pins the rule both stores apply (GCRA): a budget of 3,
// one more every 2 s, as a sequence of events and their answers.
func TestRateTake(t *testing.T) {
	r := Rate{Every: 2 * time.Second, Burst: 3}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var full time.Time
	for i, step := range []struct {
		at   time.Duration
		ok   bool
		wait time.Duration
		full time.Duration
	}{
		{0, true, 0, 2 * time.Second},
		{0, true, 0, 4 * time.Second},
		{0, true, 0, 6 * time.Second},
		{0, false, 2 * time.Second, 6 * time.Second},
		{1500 * time.Millisecond, false, 500 * time.Millisecond, 6 * time.Second},
		{2 * time.Second, true, 0, 8 * time.Second},
		{time.Minute, true, 0, time.Minute + 2*time.Second}, // long idle: full again
	} {
		next, ok, wait := r.Take(full, t0.Add(step.at))
		if ok != step.ok || wait != step.wait || !next.Equal(t0.Add(step.full)) {
			t.Fatalf("event %d at +%v: ok=%v wait=%v full=+%v; want %v %v +%v",
				i, step.at, ok, wait, next.Sub(t0), step.ok, step.wait, step.full)
		}
		full = next
	}
}
