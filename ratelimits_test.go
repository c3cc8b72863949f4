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
		next, ok, wait := r.Take(full, t0.Add(step.at), 1)
		if ok != step.ok || wait != step.wait || !next.Equal(t0.Add(step.full)) {
			t.Fatalf("event %d at +%v: ok=%v wait=%v full=+%v; want %v %v +%v",
				i, step.at, ok, wait, next.Sub(t0), step.ok, step.wait, step.full)
		}
		full = next
	}
}

// TestRateTakeMany pins takes of several events at once: all or none, and
// more than the burst count as the burst (a list longer than its budget
// still gets through once the budget is full).
func TestRateTakeMany(t *testing.T) {
	r := Rate{Every: time.Second, Burst: 10}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var full time.Time
	for i, step := range []struct {
		at   time.Duration
		n    int
		ok   bool
		wait time.Duration
		full time.Duration
	}{
		{0, 10, true, 0, 10 * time.Second},
		{0, 1, false, time.Second, 10 * time.Second},
		{3 * time.Second, 4, false, time.Second, 10 * time.Second},
		{3 * time.Second, 3, true, 0, 13 * time.Second},
		{100 * time.Second, 50, true, 0, 110 * time.Second},
		{100 * time.Second, 0, false, time.Second, 110 * time.Second}, // 0 counts as 1
	} {
		next, ok, wait := r.Take(full, t0.Add(step.at), step.n)
		if ok != step.ok || wait != step.wait || !next.Equal(t0.Add(step.full)) {
			t.Fatalf("take %d of %d at +%v: ok=%v wait=%v full=+%v; want %v %v +%v",
				i, step.n, step.at, ok, wait, next.Sub(t0), step.ok, step.wait, step.full)
		}
		full = next
	}
}
