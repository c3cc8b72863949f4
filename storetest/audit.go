package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
)

// AuditDB is what the audit suite runs on: an empty store, a second handle
// on the same database (another server), and raw access to the database.
type AuditDB struct {
	Store  strongroom.Store
	Second strongroom.Store
	Raw    AuditRaw
}

// AuditRaw writes a store's audit records directly in its database,
// around the store, as someone who can write the database would: the
// tamper tests' hands. Events are written verbatim, with their fields
// under the store's own column or field names.
type AuditRaw interface {
	// PutAuditEvent writes e at e.Seq, replacing whatever event is there.
	PutAuditEvent(ctx context.Context, e *strongroom.AuditEvent) error
	// DeleteAuditEvent deletes the event at seq.
	DeleteAuditEvent(ctx context.Context, seq int64) error
	// SetAuditHead makes h the head, as if no later one had been recorded.
	SetAuditHead(ctx context.Context, h strongroom.AuditHead) error
}

// RunAudit runs the audit suite. open returns an empty database for each
// subtest.
func RunAudit(t *testing.T, open func(t *testing.T) AuditDB) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, AuditDB)
	}{
		{"AppendAndChain", testAuditAppendAndChain},
		{"List", testAuditList},
		{"ConcurrentAppends", testAuditConcurrentAppends},
		{"Prune", testAuditPrune},
		{"InterruptedSteps", testAuditInterruptedSteps},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
	t.Run("Tamper", func(t *testing.T) { testAuditTamper(t, open) })
}

// auditKey is the suite's MAC key; wrongKey is an attacker's.
var (
	auditKey = bytes.Repeat([]byte{0x5a}, 32)
	wrongKey = bytes.Repeat([]byte{0xa5}, 32)
)

// auditEvent returns an event of user uid at t, told apart by target.
func auditEvent(typ, uid, target string, t time.Time) *strongroom.AuditEvent {
	return &strongroom.AuditEvent{Time: t.UTC().Truncate(time.Millisecond), Type: typ, Outcome: strongroom.AuditSuccess,
		UserID: uid, Target: target, Client: "192.0.2.7", RequestID: "req-" + target}
}

// mustAppend appends n events (one append) of type typ, user uid, a second
// apart from at, and returns them.
func mustAppend(t *testing.T, s strongroom.AuditStore, n int, typ, uid string, at time.Time) []*strongroom.AuditEvent {
	t.Helper()
	events := make([]*strongroom.AuditEvent, n)
	for i := range events {
		events[i] = auditEvent(typ, uid, fmt.Sprintf("%s-%d-%d", uid, at.Unix(), i), at.Add(time.Duration(i)*time.Second))
	}
	if err := s.AppendAudit(context.Background(), events, audit.Link(auditKey)); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	return events
}

// chain reads the whole stored chain, oldest first, a few at a time.
func chain(t *testing.T, s strongroom.AuditStore) []*strongroom.AuditEvent {
	t.Helper()
	var all []*strongroom.AuditEvent
	for after := int64(0); ; {
		page, err := s.AuditChain(context.Background(), after, 7)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < 7 {
			return all
		}
		after = page[len(page)-1].Seq
	}
}

// mustVerify verifies the chain and fails the test on any error.
func mustVerify(t *testing.T, s strongroom.AuditStore) audit.Summary {
	t.Helper()
	sum, err := audit.Verify(context.Background(), s, auditKey, audit.VerifyOptions{PageSize: 5})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return sum
}

func sameEvent(a, b *strongroom.AuditEvent) bool {
	return a.Seq == b.Seq && a.Time.Equal(b.Time) && a.Type == b.Type && a.Outcome == b.Outcome && a.UserID == b.UserID &&
		a.Target == b.Target && a.Client == b.Client && a.RequestID == b.RequestID &&
		bytes.Equal(a.Prev, b.Prev) && bytes.Equal(a.Hash, b.Hash)
}

// The store numbers a batch on from the end, links each event to the one
// before with the link function, keeps every field as given, and moves the
// head to the last event.
func testAuditAppendAndChain(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	if h, err := s.AuditHead(ctx); err != nil || h.Seq != 0 || !bytes.Equal(h.Hash, strongroom.AuditGenesis()) {
		t.Fatalf("head of an empty store = %+v, %v; want seq 0 and the genesis hash", h, err)
	}
	if st, err := s.AuditStart(ctx); err != nil || st.Seq != 0 {
		t.Fatalf("start of an empty store = %+v, %v", st, err)
	}
	if sum := mustVerify(t, s); sum.Events != 0 {
		t.Fatalf("an empty chain: %+v", sum)
	}
	var want []*strongroom.AuditEvent
	for _, n := range []int{1, 3, 5} {
		want = append(want, mustAppend(t, s, n, strongroom.AuditLoginSuccess, "u1", t0.Add(time.Duration(len(want))*time.Minute))...)
	}
	got := chain(t, s)
	if len(got) != len(want) {
		t.Fatalf("chain of %d events, want %d", len(got), len(want))
	}
	prev := strongroom.AuditGenesis()
	for i, e := range got {
		if e.Seq != int64(i+1) || !bytes.Equal(e.Prev, prev) || !bytes.Equal(e.Hash, audit.Hash(auditKey, e)) {
			t.Fatalf("event %d: seq %d, linked %v, hashed %v", i, e.Seq, bytes.Equal(e.Prev, prev), bytes.Equal(e.Hash, audit.Hash(auditKey, e)))
		}
		if !sameEvent(e, want[i]) {
			t.Fatalf("stored event %+v, appended %+v", e, want[i])
		}
		prev = e.Hash
	}
	h, err := s.AuditHead(ctx)
	if err != nil || h.Seq != 9 || !bytes.Equal(h.Hash, prev) {
		t.Fatalf("head = %+v, %v; want seq 9 and the last hash", h, err)
	}
	if sum := mustVerify(t, s); sum.Events != 9 || sum.First != 1 || sum.Last != 9 || sum.Head.Seq != 9 {
		t.Fatalf("Verify = %+v", sum)
	}
	if page, err := s.AuditChain(ctx, 7, 100); err != nil || len(page) != 2 || page[0].Seq != 8 {
		t.Fatalf("AuditChain after 7 = %d events, %v", len(page), err)
	}
	if err := s.AppendAudit(ctx, nil, audit.Link(auditKey)); err != nil {
		t.Fatalf("an empty append: %v", err)
	}
}

// Lists are newest first, filtered by user, type, time and seq, and page
// through everything with Before.
func testAuditList(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	mustAppend(t, s, 4, strongroom.AuditLoginSuccess, "alice", t0)                // 1-4
	mustAppend(t, s, 3, strongroom.AuditRecordRead, "bob", t0.Add(time.Hour))     // 5-7
	mustAppend(t, s, 5, strongroom.AuditRecordRead, "alice", t0.Add(2*time.Hour)) // 8-12
	mustAppend(t, s, 2, strongroom.AuditLoginFailure, "", t0.Add(3*time.Hour))    // 13-14
	seqs := func(f strongroom.AuditFilter) []int64 {
		t.Helper()
		list, err := s.AuditEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []int64{}
		for _, e := range list {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    strongroom.AuditFilter
		want []int64
	}{
		{"all", strongroom.AuditFilter{Limit: 100}, []int64{14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"limit", strongroom.AuditFilter{Limit: 3}, []int64{14, 13, 12}},
		{"limit 0 is 1", strongroom.AuditFilter{}, []int64{14}},
		{"before", strongroom.AuditFilter{Before: 6, Limit: 100}, []int64{5, 4, 3, 2, 1}},
		{"user", strongroom.AuditFilter{UserID: "alice", Limit: 100}, []int64{12, 11, 10, 9, 8, 4, 3, 2, 1}},
		{"user, next page", strongroom.AuditFilter{UserID: "alice", Before: 8, Limit: 3}, []int64{4, 3, 2}},
		{"type", strongroom.AuditFilter{Type: strongroom.AuditRecordRead, Limit: 100}, []int64{12, 11, 10, 9, 8, 7, 6, 5}},
		{"user and type", strongroom.AuditFilter{UserID: "alice", Type: strongroom.AuditRecordRead, Limit: 2}, []int64{12, 11}},
		{"another type", strongroom.AuditFilter{Type: strongroom.AuditLoginSuccess, Limit: 3}, []int64{4, 3, 2}},
		{"type, next page", strongroom.AuditFilter{Type: strongroom.AuditLoginFailure, Before: 14, Limit: 100}, []int64{13}},
		{"type and since", strongroom.AuditFilter{Type: strongroom.AuditRecordRead, Since: t0.Add(2 * time.Hour), Limit: 100}, []int64{12, 11, 10, 9, 8}},
		{"since", strongroom.AuditFilter{Since: t0.Add(2*time.Hour + 2*time.Second), Limit: 100}, []int64{14, 13, 12, 11, 10}},
		{"since and user", strongroom.AuditFilter{Since: t0.Add(time.Hour), UserID: "bob", Limit: 100}, []int64{7, 6, 5}},
		{"nothing", strongroom.AuditFilter{UserID: "carol", Limit: 100}, []int64{}},
	} {
		if got := seqs(tc.f); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: seqs %v, want %v", tc.name, got, tc.want)
		}
	}
	// Paging through everything with Before misses and repeats nothing.
	var paged []int64
	for before := int64(0); ; {
		page := seqs(strongroom.AuditFilter{Before: before, Limit: 4})
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		before = page[len(page)-1]
	}
	if len(paged) != 14 || paged[0] != 14 || paged[13] != 1 {
		t.Fatalf("paged %v", paged)
	}
	list, err := s.AuditEvents(ctx, strongroom.AuditFilter{Limit: strongroom.MaxAuditPage + 1})
	if err != nil || len(list) != 14 {
		t.Fatalf("a limit past the maximum: %d events, %v", len(list), err)
	}
	if e := list[0]; e.Type != strongroom.AuditLoginFailure || e.UserID != "" || !e.Time.Equal(t0.Add(3*time.Hour+time.Second)) ||
		e.Client != "192.0.2.7" || len(e.Hash) != strongroom.AuditHashSize {
		t.Fatalf("listed event %+v", e)
	}
}

// Appends from two handles on one database (two servers), many at once,
// make one chain: every event once, seqs 1..N without a gap, each linked
// to the one before.
func testAuditConcurrentAppends(t *testing.T, db AuditDB) {
	const workers, appends = 4, 6 // per handle
	var wg sync.WaitGroup
	for h, s := range []strongroom.Store{db.Store, db.Second} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for a := range appends {
					uid := fmt.Sprintf("h%dw%d", h, w)
					at := t0.Add(time.Duration(a) * time.Minute)
					events := make([]*strongroom.AuditEvent, 1+(w+a)%3)
					for i := range events {
						events[i] = auditEvent(strongroom.AuditRecordRead, uid, fmt.Sprintf("%s-%d-%d", uid, a, i), at)
					}
					if err := s.AppendAudit(context.Background(), events, audit.Link(auditKey)); err != nil {
						t.Errorf("AppendAudit: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	want := 0
	for w := range workers {
		for a := range appends {
			want += 2 * (1 + (w+a)%3)
		}
	}
	got := chain(t, db.Store)
	seen := map[string]bool{}
	for i, e := range got {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
		if seen[e.Target] {
			t.Fatalf("event %s stored twice", e.Target)
		}
		seen[e.Target] = true
	}
	if len(got) != want {
		t.Fatalf("%d events stored, want %d", len(got), want)
	}
	sum := mustVerify(t, db.Second)
	if sum.Events != int64(want) || sum.Head.Seq != int64(want) {
		t.Fatalf("Verify = %+v; want %d events up to the head", sum, want)
	}
}
