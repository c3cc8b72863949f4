package ratelimit

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Thousands of refusals make one summary line per interval, with the
// counts; nothing is logged while nothing is refused.
func TestTallySummarisesOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	tl := NewTally(slog.New(slog.NewJSONHandler(&buf, nil)), "logins refused", time.Minute)
	var scheduled []func()
	tl.after = func(d time.Duration, f func()) {
		if d != time.Minute {
			t.Errorf("summary scheduled after %v, want 1m", d)
		}
		scheduled = append(scheduled, f)
	}
	for i := 0; i < 5000; i++ {
		tl.Add(fmt.Sprintf("192.0.2.%d", i%3), "rate_limited")
	}
	tl.Add("198.51.100.1", "pool_full")
	if buf.Len() != 0 || len(scheduled) != 1 {
		t.Fatalf("before the interval ends: log %q, %d summaries scheduled; want nothing logged, one scheduled", buf.String(), len(scheduled))
	}
	scheduled[0]()
	line := buf.String()
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("want one summary line, got %q", line)
	}
	for _, want := range []string{`"level":"WARN"`, `"refused":5001`, `"addresses":4`, `"rate_limited":5000`, `"pool_full":1`} {
		if !strings.Contains(line, want) {
			t.Errorf("summary %s lacks %s", line, want)
		}
	}
	// A quiet interval logs nothing; the next refusal schedules anew.
	buf.Reset()
	tl.Flush()
	if buf.Len() != 0 {
		t.Fatalf("an interval without refusals logged %q", buf.String())
	}
	tl.Add("192.0.2.1", "over_share")
	if len(scheduled) != 2 {
		t.Fatalf("%d summaries scheduled, want 2", len(scheduled))
	}
	scheduled[1]()
	if !strings.Contains(buf.String(), `"refused":1,"addresses":1`) {
		t.Fatalf("second summary %q", buf.String())
	}
}
