package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
)

// tamperCase is one change made to a chain of 10 events directly in the
// database, and the event Verify must name.
type tamperCase struct {
	name   string
	tamper func(t *testing.T, db AuditDB, events []*strongroom.AuditEvent)
	want   int64
	// expect, if set, is passed to Verify as the head recorded earlier;
	// Verify must then pass without it.
	expect bool
}

var tamperCases = []tamperCase{
	{name: "EditOutcome", want: 4, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		e := *ev[3]
		e.Outcome = strongroom.AuditFailure
		put(t, db, &e)
	}},
	{name: "EditUser", want: 4, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		e := *ev[3]
		e.UserID = "mallory"
		put(t, db, &e)
	}},
	{name: "EditTime", want: 4, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		e := *ev[3]
		e.Time = e.Time.Add(time.Hour)
		put(t, db, &e)
	}},
	// Recomputing the hashes is no help without the key: a plain hash
	// chain would accept this rewrite.
	{name: "EditAndRehashWithoutTheKey", want: 4, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		prev := ev[2].Hash
		for i := 3; i < len(ev); i++ {
			e := *ev[i]
			if i == 3 {
				e.Outcome = strongroom.AuditFailure
			}
			e.Prev = prev
			e.Hash = audit.Hash(wrongKey, &e)
			put(t, db, &e)
			prev = e.Hash
		}
		setHead(t, db, strongroom.AuditHead{Seq: 10, Hash: prev})
	}},
	{name: "DeleteMiddle", want: 5, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		del(t, db, 5)
	}},
	{name: "DeleteFirst", want: 1, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		del(t, db, 1)
	}},
	{name: "DeleteTail", want: 9, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		del(t, db, 10)
		del(t, db, 9)
	}},
	// The chain goes on after the head, so the cut stays a gap.
	{name: "DeleteTailThenAppend", want: 9, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		del(t, db, 10)
		del(t, db, 9)
		mustAppend(t, db.Store, 1, strongroom.AuditLoginSuccess, "u", t0.Add(time.Hour))
	}},
	// Tail and head rolled back together: the database alone cannot show
	// it, a head recorded earlier does.
	{name: "DeleteTailAndRollBackHead", want: 9, expect: true, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		del(t, db, 10)
		del(t, db, 9)
		setHead(t, db, strongroom.AuditHead{Seq: 8, Hash: ev[7].Hash})
	}},
	{name: "Swap", want: 4, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		a, b := *ev[3], *ev[4]
		a.Seq, b.Seq = 5, 4
		put(t, db, &b)
		put(t, db, &a)
	}},
	{name: "ReplayOlderEvent", want: 7, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		e := *ev[2]
		e.Seq = 7
		put(t, db, &e)
	}},
	{name: "ForgedAtTheEnd", want: 11, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		e := forged(11, ev[9].Hash)
		put(t, db, e)
		setHead(t, db, strongroom.AuditHead{Seq: 11, Hash: e.Hash})
	}},
	{name: "ForgedInTheMiddle", want: 5, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		for i := len(ev) - 1; i >= 4; i-- { // make room: 5..10 move to 6..11
			e := *ev[i]
			e.Seq++
			put(t, db, &e)
		}
		put(t, db, forged(5, ev[3].Hash))
	}},
	// A start record made without the key (here by the store's own prune,
	// given another key) cannot pass off deleted events as pruned.
	{name: "ForgedStart", want: 6, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		if _, err := audit.Prune(context.Background(), db.Store, wrongKey, t0.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "DeleteFirstKeptAfterPrune", want: 6, tamper: func(t *testing.T, db AuditDB, ev []*strongroom.AuditEvent) {
		if _, err := audit.Prune(context.Background(), db.Store, auditKey, t0.Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
		mustVerify(t, db.Store)
		del(t, db, 6)
	}},
}

// testAuditTamper changes a chain of 10 events, each case in a database of
// its own, and checks that Verify names the case's event.
func testAuditTamper(t *testing.T, open func(t *testing.T) AuditDB) {
	for _, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			db := open(t)
			ctx := context.Background()
			mustAppend(t, db.Store, 3, strongroom.AuditLoginSuccess, "u", t0)
			mustAppend(t, db.Store, 3, strongroom.AuditRecordRead, "u", t0.Add(3*time.Second))
			mustAppend(t, db.Store, 4, strongroom.AuditRecordUpdate, "u", t0.Add(6*time.Second))
			sum := mustVerify(t, db.Store)
			events := chain(t, db.Store)
			tc.tamper(t, db, events)
			var opt audit.VerifyOptions
			if tc.expect {
				if _, err := audit.Verify(ctx, db.Store, auditKey, opt); err != nil {
					t.Fatalf("Verify without the earlier head: %v; want it to pass (the database alone cannot show this)", err)
				}
				opt.Expect = sum.Head
			}
			_, err := audit.Verify(ctx, db.Second, auditKey, opt)
			var m *audit.Mismatch
			if !errors.As(err, &m) {
				t.Fatalf("Verify after tampering: %v; want a mismatch at event %d", err, tc.want)
			}
			if m.Seq != tc.want {
				t.Fatalf("Verify: %v; want it to name event %d", err, tc.want)
			}
		})
	}
}

// forged is an event made without the audit key.
func forged(seq int64, prev []byte) *strongroom.AuditEvent {
	e := auditEvent(strongroom.AuditLoginSuccess, "mallory", "forged", t0.Add(time.Minute))
	e.Seq, e.Prev = seq, prev
	e.Hash = audit.Hash(wrongKey, e)
	return e
}

func put(t *testing.T, db AuditDB, e *strongroom.AuditEvent) {
	t.Helper()
	if err := db.Raw.PutAuditEvent(context.Background(), e); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, db AuditDB, seq int64) {
	t.Helper()
	if err := db.Raw.DeleteAuditEvent(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
}

func setHead(t *testing.T, db AuditDB, h strongroom.AuditHead) {
	t.Helper()
	if err := db.Raw.SetAuditHead(context.Background(), h); err != nil {
		t.Fatal(err)
	}
}
