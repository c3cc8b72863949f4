package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/sqlite"
)

var testKey = bytes.Repeat([]byte{1}, 32)

// memStore is an AuditStore in memory that counts its appends.
type memStore struct {
	strongroom.AuditStore // only AppendAudit is used
	mu                    sync.Mutex
	events                []*strongroom.AuditEvent
	appends               []int // events per append
	fail                  error
	block                 chan struct{} // if set, appends wait for it
}

func (m *memStore) AppendAudit(ctx context.Context, events []*strongroom.AuditEvent, link strongroom.AuditLink) error {
	if m.block != nil {
		<-m.block
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	prev := strongroom.AuditGenesis()
	if n := len(m.events); n > 0 {
		prev = m.events[n-1].Hash
	}
	for _, e := range events {
		e.Seq, e.Prev = int64(len(m.events)+1), prev
		e.Hash = link(e)
		prev = e.Hash
		m.events = append(m.events, e)
	}
	m.appends = append(m.appends, len(events))
	return nil
}

func (m *memStore) stored() ([]*strongroom.AuditEvent, []int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]*strongroom.AuditEvent(nil), m.events...), append([]int(nil), m.appends...)
}

func event(target string) strongroom.AuditEvent {
	return strongroom.AuditEvent{Type: strongroom.AuditRecordRead, Outcome: strongroom.AuditSuccess, UserID: "u1", Target: target}
}

// Record returns once the event is stored, stamped with the clock (UTC,
// to the millisecond) and the request's id and client address.
func TestRecordFillsInAndIsStoredOnReturn(t *testing.T) {
	st := &memStore{}
	clock := testclock.New(time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("CET", 3600)))
	tr := audit.New(st, testKey, audit.Options{Now: clock.Now})
	defer tr.Close()
	ctx := strongroom.WithClientAddr(strongroom.WithRequestID(context.Background(), "req-1"), "198.51.100.4")
	if err := tr.Record(ctx, event("r1")); err != nil {
		t.Fatal(err)
	}
	events, _ := st.stored()
	if len(events) != 1 {
		t.Fatalf("%d events stored when Record returned, want 1", len(events))
	}
	e := events[0]
	want := time.Date(2026, 3, 4, 4, 6, 7, 891_000_000, time.UTC)
	if !e.Time.Equal(want) || e.Time.Location() != time.UTC || e.RequestID != "req-1" || e.Client != "198.51.100.4" ||
		e.Seq != 1 || !bytes.Equal(e.Hash, audit.Hash(testKey, e)) {
		t.Fatalf("stored %+v", e)
	}
	// Fields set by the caller are kept.
	given := event("r2")
	given.Client, given.RequestID, given.Time = "203.0.113.9", "req-2", want.Add(time.Hour)
	if err := tr.Record(ctx, given); err != nil {
		t.Fatal(err)
	}
	events, _ = st.stored()
	if e := events[1]; e.Client != "203.0.113.9" || e.RequestID != "req-2" || !e.Time.Equal(want.Add(time.Hour)) {
		t.Fatalf("stored %+v", e)
	}
}

// Events that hold what a store cannot keep as is are refused, naming the
// field, and nothing is stored.
func TestRecordRefusesInvalidEvents(t *testing.T) {
	st := &memStore{}
	tr := audit.New(st, testKey, audit.Options{})
	defer tr.Close()
	for field, edit := range map[string]func(e *strongroom.AuditEvent){
		"type":       func(e *strongroom.AuditEvent) { e.Type = "" },
		"outcome":    func(e *strongroom.AuditEvent) { e.Outcome = "Success!" },
		"user_id":    func(e *strongroom.AuditEvent) { e.UserID = "\xff" },
		"target":     func(e *strongroom.AuditEvent) { e.Target = string(make([]byte, audit.MaxFieldLen+1)) },
		"client":     func(e *strongroom.AuditEvent) { e.Client = "a\nb" },
		"request_id": func(e *strongroom.AuditEvent) { e.RequestID = "a\x00b" },
	} {
		e := event("x")
		edit(&e)
		err := tr.Record(context.Background(), e)
		var se *strongroom.Error
		if !errors.As(err, &se) || se.Kind != strongroom.KindInvalid || se.Field != field {
			t.Errorf("%s: %v; want invalid, naming the field", field, err)
		}
		if err := tr.RecordAsync(context.Background(), e); !strongroom.IsKind(err, strongroom.KindInvalid) {
			t.Errorf("%s, async: %v", field, err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if events, _ := st.stored(); len(events) != 0 {
		t.Fatalf("%d invalid events stored", len(events))
	}
	if err := audit.Validate(&strongroom.AuditEvent{Type: "2fa.enabled", Outcome: "success", Client: "2001:db8::1", Target: "Zoë"}); err != nil {
		t.Fatalf("a valid event refused: %v", err)
	}
}

// Asynchronous events are appended together, within the delay bound, in
// batches no larger than MaxBatch, and OnCommit sees every append.
func TestRecordAsyncBatches(t *testing.T) {
	st := &memStore{}
	var mu sync.Mutex
	var committed []int
	tr := audit.New(st, testKey, audit.Options{MaxDelay: 50 * time.Millisecond, MaxBatch: 16,
		OnCommit: func(n int, d time.Duration) { mu.Lock(); committed = append(committed, n); mu.Unlock() }})
	defer tr.Close()
	for i := range 40 {
		if err := tr.RecordAsync(context.Background(), event(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		events, appends := st.stored()
		if len(events) == 40 {
			if len(appends) > 4 {
				t.Errorf("40 events queued at once took %d appends %v; want them batched", len(appends), appends)
			}
			for _, n := range appends {
				if n > 16 {
					t.Errorf("an append of %d events, over MaxBatch", n)
				}
			}
			for i, e := range events {
				if e.Target != fmt.Sprint(i) {
					t.Fatalf("event %d is %s: the order was not kept", i, e.Target)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 40 asynchronous events stored after 5 s, with nothing else happening", len(events))
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	sum := 0
	for _, n := range committed {
		sum += n
	}
	if sum != 40 {
		t.Fatalf("OnCommit saw %v (%d events), want 40", committed, sum)
	}
}

// An event someone waits for does not wait out the delay, and takes the
// queued asynchronous events with it.
func TestRecordTakesQueuedEventsAlong(t *testing.T) {
	st := &memStore{}
	tr := audit.New(st, testKey, audit.Options{MaxDelay: time.Hour})
	defer tr.Close()
	for i := range 3 {
		if err := tr.RecordAsync(context.Background(), event(fmt.Sprint("async", i))); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- tr.Record(context.Background(), event("sync")) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Record waited for the asynchronous events' delay")
	}
	if events, _ := st.stored(); len(events) != 4 || events[3].Target != "sync" {
		t.Fatalf("stored %d events when Record returned, want the 3 queued before it and its own", len(events))
	}
}

// Close appends what is queued; afterwards events are refused.
func TestCloseFlushes(t *testing.T) {
	st := &memStore{}
	tr := audit.New(st, testKey, audit.Options{MaxDelay: time.Hour, MaxBatch: 8})
	for i := range 50 {
		if err := tr.RecordAsync(context.Background(), event(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	events, appends := st.stored()
	if len(events) != 50 {
		t.Fatalf("%d of 50 queued events stored by Close", len(events))
	}
	for _, n := range appends {
		if n > 8 {
			t.Fatalf("Close appended %d events at once, over MaxBatch", n)
		}
	}
	if err := tr.Record(context.Background(), event("late")); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("Record after Close: %v", err)
	}
	if err := tr.RecordAsync(context.Background(), event("late")); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("RecordAsync after Close: %v", err)
	}
}

// A failed append fails the Record calls in it, and is logged for the
// asynchronous events, by count.
func TestFailedAppend(t *testing.T) {
	st := &memStore{block: make(chan struct{})}
	var log bytes.Buffer
	var logMu sync.Mutex
	tr := audit.New(st, testKey, audit.Options{MaxDelay: time.Millisecond,
		Log: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &log}, nil))})
	defer tr.Close()
	// Queued while appends still succeeded: no one waits for it, so when
	// its append fails, the loss is logged.
	if err := tr.RecordAsync(strongroom.WithRequestID(context.Background(), "req-9"), event("async")); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.fail = strongroom.Unavailable("store unavailable", errors.New("down"))
	st.mu.Unlock()
	close(st.block)
	if err := tr.Record(context.Background(), event("sync")); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("Record with the store down: %v", err)
	}
	// The loss is logged after the waiting callers are told.
	logged := func() (bool, string) {
		logMu.Lock()
		defer logMu.Unlock()
		return bytes.Contains(log.Bytes(), []byte(`"count":1`)) && bytes.Contains(log.Bytes(), []byte("could not be stored")), log.String()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if ok, line := logged(); ok {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("log: %s", line)
		}
	}
	// Now that appends fail, a record read is not queued and forgotten:
	// it waits for its append and fails with it, so its value is not sent.
	for i := range 3 {
		if err := tr.RecordAsync(context.Background(), event(fmt.Sprint("while down ", i))); !strongroom.IsKind(err, strongroom.KindUnavailable) {
			t.Fatalf("RecordAsync while appends fail: %v", err)
		}
	}
	// The store is back: the next one is stored, and after it RecordAsync
	// queues without waiting again.
	st.mu.Lock()
	st.fail, st.block = nil, make(chan struct{})
	st.mu.Unlock()
	done := make(chan error, 1)
	go func() { done <- tr.RecordAsync(context.Background(), event("back")) }()
	select {
	case err := <-done:
		t.Fatalf("RecordAsync right after a failed append returned (%v) before its own append", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(st.block)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.block = make(chan struct{}) // appends now hang: a queued event must not wait for one
	st.mu.Unlock()
	if err := tr.RecordAsync(context.Background(), event("queued")); err != nil {
		t.Fatal(err)
	}
	close(st.block)
	if events, _ := st.stored(); len(events) < 1 || events[0].Target != "back" {
		t.Fatalf("stored %v, want the event recorded once the store was back", events)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// With Sync, RecordAsync waits like Record.
func TestSyncOption(t *testing.T) {
	st := &memStore{}
	tr := audit.New(st, testKey, audit.Options{MaxDelay: time.Hour, Sync: true})
	defer tr.Close()
	if err := tr.RecordAsync(context.Background(), event("x")); err != nil {
		t.Fatal(err)
	}
	if events, _ := st.stored(); len(events) != 1 {
		t.Fatal("RecordAsync with Sync returned before the event was stored")
	}
}

// RecordAsync blocks only while the queue is full, and gives up when its
// context ends.
func TestRecordAsyncFullQueue(t *testing.T) {
	st := &memStore{block: make(chan struct{})}
	tr := audit.New(st, testKey, audit.Options{MaxBatch: 1})
	var err error
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	for i := 0; i < 100 && err == nil; i++ {
		err = tr.RecordAsync(ctx, event(fmt.Sprint(i)))
	}
	if !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("RecordAsync into a full queue: %v", err)
	}
	close(st.block)
	tr.Close()
}

// Many callers at once on a real store: every event is stored, in fewer
// appends than events, and the chain verifies.
func TestTrailOnSQLite(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	appends := 0
	tr := audit.New(db, testKey, audit.Options{OnCommit: func(n int, d time.Duration) { mu.Lock(); appends++; mu.Unlock() }})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				e := event(fmt.Sprint(w, "-", i))
				var err error
				if i%5 == 0 {
					err = tr.Record(ctx, e)
				} else {
					err = tr.RecordAsync(ctx, e)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	sum, err := audit.Verify(ctx, db, testKey, audit.VerifyOptions{})
	if err != nil || sum.Events != 200 || sum.Head.Seq != 200 {
		t.Fatalf("Verify = %+v, %v; want 200 events", sum, err)
	}
	if appends >= 200 {
		t.Fatalf("200 events in %d appends: no batching", appends)
	}
	t.Logf("200 events in %d appends", appends)
}
