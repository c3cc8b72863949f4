package sqlite_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/storetest"
)

// openAudit opens a new database twice, as two servers would, and once
// more around the store, with SQL, for the tamper tests.
func openAudit(t *testing.T) storetest.AuditDB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	var handles [2]*sqlite.DB
	for i := range handles {
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		handles[i] = db
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	raw, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return storetest.AuditDB{Store: handles[0], Second: handles[1], Raw: sqlRaw{raw}}
}

func TestAuditConformance(t *testing.T) {
	storetest.RunAudit(t, openAudit)
	// With a user's events mostly in audit_by_user, and the mark crossed
	// by most appends.
	t.Run("IndexedEvery3", func(t *testing.T) {
		defer sqlite.SetAuditIndexEvery(3)()
		storetest.RunAudit(t, openAudit)
	})
}

// sqlRaw edits the audit tables with SQL.
type sqlRaw struct{ db *sql.DB }

func (r sqlRaw) PutAuditEvent(ctx context.Context, e *strongroom.AuditEvent) error {
	_, err := r.db.ExecContext(ctx, `INSERT OR REPLACE INTO audit_events (seq, time, type, outcome, user_id, target, client, request_id, prev, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.Time.UnixMilli(), e.Type, e.Outcome, e.UserID, e.Target, e.Client, e.RequestID, e.Prev, e.Hash)
	return err
}

func (r sqlRaw) DeleteAuditEvent(ctx context.Context, seq int64) error {
	_, err := r.db.ExecContext(ctx, "DELETE FROM audit_events WHERE seq = ?", seq)
	return err
}

func (r sqlRaw) SetAuditHead(ctx context.Context, h strongroom.AuditHead) error {
	_, err := r.db.ExecContext(ctx, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", h.Seq, h.Hash)
	return err
}
