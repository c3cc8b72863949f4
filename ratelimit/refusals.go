package ratelimit

import (
	"log/slog"
	"sync"
	"time"
)

// maxTallyKeys bounds the distinct keys a Tally remembers per interval.
const maxTallyKeys = 10_000

// Tally counts refused requests, and the distinct keys (client addresses)
// they came from, and logs one summary line per interval at most: a flood
// of refusals costs the log a line a minute, not a line a request.
type Tally struct {
	log   *slog.Logger
	msg   string
	every time.Duration
	// after runs f once d has passed (time.AfterFunc); tests replace it.
	after func(d time.Duration, f func())

	mu       sync.Mutex
	pending  bool // a summary is scheduled
	byReason map[string]int
	keys     map[string]struct{}
}

// NewTally returns a Tally that logs msg at warn level, with the counts,
// at most once per every (a minute if every is 0).
func NewTally(log *slog.Logger, msg string, every time.Duration) *Tally {
	if every <= 0 {
		every = time.Minute
	}
	return &Tally{log: log, msg: msg, every: every,
		after:    func(d time.Duration, f func()) { time.AfterFunc(d, f) },
		byReason: map[string]int{}, keys: map[string]struct{}{}}
}

// Add counts one refusal of a request from key, for reason. The first
// refusal of an interval schedules the summary at the interval's end.
func (t *Tally) Add(key, reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byReason[reason]++
	if len(t.keys) < maxTallyKeys {
		t.keys[key] = struct{}{}
	}
	if !t.pending {
		t.pending = true
		t.after(t.every, t.Flush)
	}
}

// Flush logs the summary of the refusals counted so far, if any, and
// starts a new interval.
func (t *Tally) Flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending = false
	total := 0
	args := []any{}
	for reason, n := range t.byReason {
		total += n
		args = append(args, reason, n)
	}
	if total == 0 {
		return
	}
	args = append([]any{"refused", total, "addresses", len(t.keys), "interval", t.every.String()}, args...)
	t.log.Warn(t.msg, args...)
	clear(t.byReason)
	clear(t.keys)
}
