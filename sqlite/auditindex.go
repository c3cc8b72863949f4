package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/strongroom/strongroom"
)

// The trail's per-user lookup (GET /audit, /admin/audit?user=) is kept in
// audit_by_user (user_id, seq), filled in arrears: every append that takes
// the chain auditIndexEvery events past audit_indexed.seq copies the
// newer events' (user_id, seq) there, in the same transaction. An index on
// audit_events(user_id, seq) maintained with every append cost a page
// write per user in the append (their entries lie all over the index):
// with many users reading, one 4 KiB page per record read, which made
// auditing reads cost a third of a server's read throughput. Filled in
// arrears, a page takes the entries of thousands of events at once. A
// user's events after audit_indexed.seq are found by reading the tail of
// the chain, at most auditIndexEvery events plus one append.
//
// audit_by_user is derived data, outside the chain: Verify and export do
// not read it. An entry whose event is not the user's (a hand on the
// database) shows nothing: the lookup joins on both columns.
var auditIndexEvery int64 = 16384

// indexAudit copies the (user_id, seq) of the events after mark (as
// audit_indexed holds it) into audit_by_user, if there are auditIndexEvery
// of them by last (the chain's newest seq), and moves the mark to last.
func indexAudit(ctx context.Context, tx *sql.Tx, mark, last int64) error {
	if last-mark < auditIndexEvery {
		return nil
	}
	// The rows go in by (user_id, seq), the order of the primary key, so
	// each page of it is written once.
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO audit_by_user (user_id, seq)
		SELECT user_id, seq FROM audit_events WHERE seq > ? AND seq <= ? AND user_id <> '' ORDER BY user_id, seq`, mark, last); err != nil {
		return mapErr("index audit", err)
	}
	_, err := tx.ExecContext(ctx, "UPDATE audit_indexed SET seq = ? WHERE id = 1", last)
	return mapErr("index audit", err)
}

// userAuditEvents is AuditEvents for one user: the tail after the mark
// first, then audit_by_user, newest first, in one read transaction so the
// mark and both parts agree.
func (db *DB) userAuditEvents(ctx context.Context, f strongroom.AuditFilter) (_ []*strongroom.AuditEvent, err error) {
	const op = "list audit events"
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // read only
	var mark int64
	if err := tx.QueryRowContext(ctx, "SELECT seq FROM audit_indexed WHERE id = 1").Scan(&mark); err != nil {
		return nil, mapErr(op, err)
	}
	limit := pageLimit(f.Limit)
	where, args := []string{"e.user_id = ?"}, []any{f.UserID}
	if f.Type != "" {
		where, args = append(where, "e.type = ?"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "e.time >= ?"), append(args, f.Since.UnixMilli())
	}
	if f.Before > 0 {
		where, args = append(where, "e.seq < ?"), append(args, f.Before)
	}
	cond := strings.Join(where, " AND ")
	// The tail, by the primary key from the newest event down to the mark.
	out, err := auditEvents(ctx, tx, op, "SELECT "+auditColumnsOf("e")+" FROM audit_events e WHERE e.seq > ? AND "+cond+
		" ORDER BY e.seq DESC LIMIT ?", append(append([]any{mark}, args...), limit)...)
	if err != nil || len(out) == limit {
		return out, err
	}
	// The rest, by the user's entries, newest first.
	older, err := auditEvents(ctx, tx, op, "SELECT "+auditColumnsOf("e")+" FROM audit_by_user x JOIN audit_events e ON e.seq = x.seq AND e.user_id = x.user_id"+
		" WHERE x.user_id = ? AND x.seq <= ? AND "+cond+" ORDER BY x.seq DESC LIMIT ?",
		append(append([]any{f.UserID, mark}, args...), limit-len(out))...)
	return append(out, older...), err
}

// auditColumnsOf is auditColumns qualified by a table's alias.
func auditColumnsOf(alias string) string {
	cols := strings.Split(auditColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}
