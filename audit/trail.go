package audit

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strongroom/strongroom"
)

// Group commit: one goroutine appends whatever events are waiting in one
// store append (one transaction, one fsync on SQLite; one round of writes
// on MongoDB), so a burst of events costs a few appends, not one each.
// Record waits for the append that holds its event; RecordAsync does not,
// and its events wait at most MaxDelay (or until MaxBatch are queued) for
// company before they are appended. So a crash can lose the asynchronous
// events of the last MaxDelay, plus those of an append under way, and never
// one that Record returned for.

// Defaults of Options.
const (
	DefaultMaxDelay = 5 * time.Millisecond
	// DefaultMaxBatch: a list of records queues an event per record, so
	// under load appends fill up; each costs a commit (an fsync, the log's
	// frames), which larger batches share (on SQLite an event of a
	// 1000-event append costs about 15 µs of CPU, of a 100-event one 20:
	// BenchmarkAppendAudit in package sqlite).
	DefaultMaxBatch = 1024
	// appendTimeout bounds one store append, so a store that hangs fails
	// the waiting Record calls rather than holding them forever.
	appendTimeout = 10 * time.Second
)

// Options tune a Trail. The zero value is the defaults.
type Options struct {
	// Now is the clock events are stamped with (time.Now if nil).
	Now func() time.Time
	// MaxDelay bounds how long an asynchronous event waits to be appended
	// (DefaultMaxDelay if 0).
	MaxDelay time.Duration
	// MaxBatch bounds the events of one append (DefaultMaxBatch if 0).
	MaxBatch int
	// Sync makes RecordAsync wait like Record: for deployments that need
	// every record read durable before its answer.
	Sync bool
	// OnCommit, if set, is called after each append that succeeded, with
	// its number of events and how long the store took: for metrics, so
	// that this package needs no metrics library.
	OnCommit func(n int, d time.Duration)
	// Log receives the failures of appends that no caller waits for.
	Log *slog.Logger
}

// Trail records events into a store's chain. It is safe for concurrent
// use. Close it to append what is queued.
type Trail struct {
	store strongroom.AuditStore
	link  strongroom.AuditLink
	opt   Options

	closing sync.RWMutex // held for reading while queueing; Close takes it
	queue   chan item    // nil once closed
	done    chan struct{}
	// failing is set while appends fail (from a failed append to the next
	// that succeeds): RecordAsync then waits like Record, so no value is
	// sent whose event cannot be stored.
	failing atomic.Bool
}

type item struct {
	e      *strongroom.AuditEvent
	queued time.Time       // by the wall clock, for the delay bound
	result chan<- error    // nil: no one waits (RecordAsync)
	ctx    context.Context // for the log line of a failed asynchronous append
}

// ErrClosed refuses events recorded after Close.
var ErrClosed = strongroom.Unavailable("audit trail closed", errors.New("audit: trail closed"))

// New returns a Trail that appends to store, chained under key
// (DeriveKey), and starts its committing goroutine.
func New(store strongroom.AuditStore, key []byte, opt Options) *Trail {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxDelay <= 0 {
		opt.MaxDelay = DefaultMaxDelay
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = DefaultMaxBatch
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	t := &Trail{store: store, link: Link(key), opt: opt,
		queue: make(chan item, 4*opt.MaxBatch), done: make(chan struct{})}
	go t.commit(t.queue)
	return t
}

// Record appends e and returns once the append that holds it is durable:
// for authentication, key and account events. It fills in e's Time (from
// the clock, unless set), RequestID (strongroom.RequestID) and Client
// (strongroom.ClientAddr) when they are empty; the store sets Seq, Prev
// and Hash. It fails if e is not valid (Validate), the Trail is closed, or
// the append failed; once queued it waits for the append even if ctx ends, so a
// caller is never told "failed" about an event that was stored.
func (t *Trail) Record(ctx context.Context, e strongroom.AuditEvent) error {
	res := make(chan error, 1)
	if err := t.enqueue(ctx, &e, res); err != nil {
		return err
	}
	return <-res
}

// RecordAsync queues e to be appended within MaxDelay (record reads) and
// returns without waiting for the append; with Options.Sync, and while
// the last append failed, it is Record: once the store fails, every event
// waits for an append that succeeds, and its caller is told if none does.
// It fills e in as Record does. It blocks only while the queue is full
// (the store is slower than the events), and fails if e is not valid, the
// Trail is closed, or ctx ends while it waits for room. The events queued
// before an append failed, which no one waits for, are lost, and the
// loss is logged with their number.
func (t *Trail) RecordAsync(ctx context.Context, e strongroom.AuditEvent) error {
	if t.opt.Sync || t.failing.Load() {
		return t.Record(ctx, e)
	}
	return t.enqueue(ctx, &e, nil)
}

func (t *Trail) enqueue(ctx context.Context, e *strongroom.AuditEvent, res chan<- error) error {
	if e.Time.IsZero() {
		e.Time = t.opt.Now()
	}
	// Stored and hashed to the millisecond, in UTC: what a store reads
	// back must be what was hashed.
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	if e.RequestID == "" {
		e.RequestID = strongroom.RequestID(ctx)
	}
	if e.Client == "" {
		e.Client = strongroom.ClientAddr(ctx)
	}
	e.Seq, e.Prev, e.Hash = 0, nil, nil
	if err := Validate(e); err != nil {
		return err
	}
	it := item{e: e, queued: time.Now(), result: res, ctx: context.WithoutCancel(ctx)}
	t.closing.RLock()
	defer t.closing.RUnlock()
	if t.queue == nil {
		return ErrClosed
	}
	select {
	case t.queue <- it:
		return nil
	default:
	}
	select {
	case t.queue <- it:
		return nil
	case <-ctx.Done():
		return strongroom.Unavailable("audit trail busy", ctx.Err())
	}
}

// Close appends what is queued, stops the committing goroutine and
// returns once it has. Events recorded afterwards are refused.
func (t *Trail) Close() error {
	t.closing.Lock()
	q := t.queue
	t.queue = nil
	t.closing.Unlock()
	if q != nil {
		close(q)
	}
	<-t.done
	return nil
}

// commit is the one goroutine that appends (queue is its own copy of
// t.queue, which Close sets to nil): it takes what is queued, and
// if no one is waiting for it, lets asynchronous events wait out the
// oldest one's MaxDelay for company before appending them.
func (t *Trail) commit(queue <-chan item) {
	defer close(t.done)
	var timer *time.Timer
	for {
		first, ok := <-queue
		if !ok {
			return
		}
		// Let the goroutines that are about to queue an event do so
		// before the batch is cut: with one P they could not run while
		// this one holds it, and every batch would hold one event.
		runtime.Gosched()
		batch, waited, open := []item{first}, first.result != nil, true
	drain:
		for len(batch) < t.opt.MaxBatch {
			select {
			case it, ok := <-queue:
				if !ok {
					open = false
					break drain
				}
				batch, waited = append(batch, it), waited || it.result != nil
			default:
				break drain
			}
		}
		if !waited && open && len(batch) < t.opt.MaxBatch {
			if wait := t.opt.MaxDelay - time.Since(first.queued); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
				} else {
					timer.Reset(wait)
				}
			fill:
				for len(batch) < t.opt.MaxBatch {
					select {
					case it, ok := <-queue:
						if !ok {
							open = false
							break fill
						}
						batch = append(batch, it)
						if it.result != nil {
							break fill // someone waits: append now
						}
					case <-timer.C:
						break fill
					}
				}
				timer.Stop()
			}
		}
		t.append(batch)
		if !open {
			// Closed: append the rest in full batches, then stop.
			batch = batch[:0]
			for it := range queue {
				if batch = append(batch, it); len(batch) == t.opt.MaxBatch {
					t.append(batch)
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				t.append(batch)
			}
			return
		}
	}
}

// append makes one store append of batch and tells the waiting callers.
func (t *Trail) append(batch []item) {
	events := make([]*strongroom.AuditEvent, len(batch))
	for i, it := range batch {
		events[i] = it.e
	}
	ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
	began := time.Now()
	err := t.store.AppendAudit(ctx, events, t.link)
	took := time.Since(began)
	cancel()
	t.failing.Store(err != nil)
	if err == nil && t.opt.OnCommit != nil {
		t.opt.OnCommit(len(events), took)
	}
	lost, logCtx := 0, context.Background()
	for _, it := range batch {
		if it.result != nil {
			it.result <- err
		} else if err != nil {
			if lost == 0 {
				logCtx = it.ctx
			}
			lost++
		}
	}
	if lost > 0 {
		// No one waits for these events: the log is where their loss
		// shows (with the first one's request id).
		t.opt.Log.ErrorContext(logCtx, "audit events could not be stored", "count", lost, "err", err)
	}
}
