package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/audit"
	"github.com/strongroom/strongroom/sqlite"
)

func appendFor(t *testing.T, db *sqlite.DB, users ...string) {
	t.Helper()
	events := make([]*strongroom.AuditEvent, len(users))
	for i, u := range users {
		events[i] = &strongroom.AuditEvent{Time: time.UnixMilli(1_700_000_000_000), Type: strongroom.AuditRecordRead,
			Outcome: strongroom.AuditSuccess, UserID: u, Target: fmt.Sprint("r", i)}
	}
	if err := db.AppendAudit(context.Background(), events, audit.Link(make([]byte, 32))); err != nil {
		t.Fatal(err)
	}
}

func userSeqs(t *testing.T, db *sqlite.DB, f strongroom.AuditFilter) string {
	t.Helper()
	list, err := db.AuditEvents(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, e := range list {
		if e.UserID != f.UserID {
			t.Fatalf("event %d of %q listed for %q", e.Seq, e.UserID, f.UserID)
		}
		seqs = append(seqs, e.Seq)
	}
	return fmt.Sprint(seqs)
}

// A user's events are listed alike whether they are in the tail after the
// mark or already in audit_by_user, and a page may span both.
func TestAuditByUserSpansTheMark(t *testing.T) {
	defer sqlite.SetAuditIndexEvery(4)()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	appendFor(t, db, "alice", "alice", "bob", "alice", "alice") // 1-5: indexed, the mark at 5
	appendFor(t, db, "bob")                                     // 6: the tail
	appendFor(t, db, "alice", "alice")                          // 7-8: the tail
	for _, c := range []struct {
		f    strongroom.AuditFilter
		want string
	}{
		{strongroom.AuditFilter{UserID: "alice", Limit: 100}, "[8 7 5 4 2 1]"},
		{strongroom.AuditFilter{UserID: "alice", Limit: 4}, "[8 7 5 4]"},
		{strongroom.AuditFilter{UserID: "alice", Before: 8, Limit: 2}, "[7 5]"},
		{strongroom.AuditFilter{UserID: "alice", Before: 5, Limit: 100}, "[4 2 1]"},
		{strongroom.AuditFilter{UserID: "bob", Limit: 100}, "[6 3]"},
		{strongroom.AuditFilter{UserID: "bob", Type: strongroom.AuditLoginFailure, Limit: 100}, "[]"},
	} {
		if got := userSeqs(t, db, c.f); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
}

// A database with audit events from before audit_by_user gets them
// indexed by the migration.
func TestAuditByUserMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	n := len(sqlite.Migrations) - 1
	for _, q := range append(sqlite.Migrations[:n:n], fmt.Sprintf("PRAGMA user_version = %d", n),
		`INSERT INTO audit_events (seq, time, type, outcome, user_id, target, client, request_id, prev, hash)
		 VALUES (1, 0, 'register', 'success', 'alice', '', '', '', x'00', x'00'), (2, 0, 'login.failure', 'failure', '', '', '', '', x'00', x'00'),
		        (3, 0, 'login.success', 'success', 'alice', '', '', '', x'00', x'00')`) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := userSeqs(t, db, strongroom.AuditFilter{UserID: "alice", Limit: 10}); got != "[3 1]" {
		t.Fatalf("alice's events after the migration: %s", got)
	}
	appendFor(t, db, "alice")
	if got := userSeqs(t, db, strongroom.AuditFilter{UserID: "alice", Limit: 10}); got != "[4 3 1]" {
		t.Fatalf("alice's events after an append: %s", got)
	}
}
