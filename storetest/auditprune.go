package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
)

// appendMinutes appends n events one at a time, a minute apart from t0.
func appendMinutes(t *testing.T, s strongroom.AuditStore, n int) {
	t.Helper()
	for i := range n {
		mustAppend(t, s, 1, strongroom.AuditRecordRead, "u", t0.Add(time.Duration(i)*time.Minute))
	}
}

func mustPrune(t *testing.T, s strongroom.AuditStore, before time.Time, want int) {
	t.Helper()
	n, err := audit.Prune(context.Background(), s, auditKey, before)
	if err != nil || n != want {
		t.Fatalf("Prune(%s) = %d, %v; want %d deleted", before.Sub(t0), n, err, want)
	}
}

// Pruning deletes the events older than a time, records where the kept
// chain starts, and the chain verifies from there, also as it grows; the
// newest event is always kept, so the chain never starts over.
func testAuditPrune(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	mustPrune(t, s, t0.Add(time.Hour), 0) // an empty chain
	appendMinutes(t, s, 10)
	before := chain(t, s)
	mustPrune(t, s, t0, 0) // nothing older
	mustPrune(t, s, t0.Add(4*time.Minute), 4)
	st, err := s.AuditStart(ctx)
	if err != nil || st.Seq != 5 || !bytes.Equal(st.Prev, before[3].Hash) || !bytes.Equal(st.MAC, audit.SealStart(auditKey, st)) {
		t.Fatalf("start after pruning = %+v, %v; want seq 5, event 4's hash, sealed", st, err)
	}
	if sum := mustVerify(t, s); sum.Events != 6 || sum.First != 5 || sum.Last != 10 {
		t.Fatalf("Verify after pruning = %+v", sum)
	}
	if list, err := s.AuditEvents(ctx, strongroom.AuditFilter{Limit: 100}); err != nil || len(list) != 6 || list[5].Seq != 5 {
		t.Fatalf("listed after pruning: %d events, %v", len(list), err)
	}
	mustPrune(t, s, t0.Add(4*time.Minute), 0) // again: nothing to do
	mustPrune(t, s, t0.Add(2*time.Minute), 0) // an older time: nothing to do

	mustAppend(t, s, 1, strongroom.AuditLoginSuccess, "u", t0.Add(time.Hour)) // seq 11
	mustVerify(t, s)
	// Everything is older: all but the newest event go.
	mustPrune(t, s, t0.Add(24*time.Hour), 6)
	if sum := mustVerify(t, s); sum.Events != 1 || sum.First != 11 || sum.Start.Seq != 11 {
		t.Fatalf("Verify after pruning all but one = %+v", sum)
	}
	mustAppend(t, s, 2, strongroom.AuditLoginSuccess, "u", t0.Add(25*time.Hour))
	if sum := mustVerify(t, s); sum.Events != 3 || sum.First != 11 || sum.Last != 13 {
		t.Fatalf("Verify after appending to a pruned chain = %+v", sum)
	}
	// Another server's handle sees the same start.
	if st, err := db.Second.AuditStart(ctx); err != nil || st.Seq != 11 {
		t.Fatalf("start from the second handle = %+v, %v", st, err)
	}
}

// A crash between an append's or a prune's steps (MongoDB has no
// transaction across them) makes no false alarm, and the next append or
// prune carries on.
func testAuditInterruptedSteps(t *testing.T, db AuditDB) {
	ctx := context.Background()
	s := db.Store
	appendMinutes(t, s, 10)
	events := chain(t, s)

	// Events stored, head not yet moved past event 8.
	if err := db.Raw.SetAuditHead(ctx, strongroom.AuditHead{Seq: 8, Hash: events[7].Hash}); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, s)
	next := mustAppend(t, s, 1, strongroom.AuditLoginSuccess, "u", t0.Add(time.Hour))
	if next[0].Seq != 11 || !bytes.Equal(next[0].Prev, events[9].Hash) {
		t.Fatalf("an append after a lagging head: seq %d, linked to event 10: %v", next[0].Seq, bytes.Equal(next[0].Prev, events[9].Hash))
	}
	if sum := mustVerify(t, s); sum.Head.Seq != 11 {
		t.Fatalf("head after the next append: %+v", sum.Head)
	}

	// Start recorded, old events not yet deleted.
	mustPrune(t, s, t0.Add(4*time.Minute), 4)
	for _, e := range events[:4] {
		if err := db.Raw.PutAuditEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if sum := mustVerify(t, s); sum.First != 1 || sum.Events != 11 {
		t.Fatalf("Verify with the pruned events still there = %+v", sum)
	}
	mustPrune(t, s, t0.Add(4*time.Minute), 4) // the next prune deletes them
	if sum := mustVerify(t, s); sum.First != 5 || sum.Events != 7 {
		t.Fatalf("Verify after the next prune = %+v", sum)
	}
}
