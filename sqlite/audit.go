package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
)

// The audit trail: table audit_events (seq is the rowid), the head in
// audit_head (one row, made by the migration at seq 0 with the genesis
// hash) and the start of a pruned chain in audit_start (one row, once
// pruned). An append and a prune are each one immediate transaction of the
// writer, which also excludes the writers of other processes on the same
// file (BEGIN IMMEDIATE takes the database's write lock), so appends from
// several handles make one chain.
//
// Indexes: the primary key (seq) for the chain, unfiltered lists and
// record reads (almost every event); audit_events_type (type, seq), of
// every other type, for the type filter, newest first;
// audit_events_time (time) for the since filter and for pruning. A user's
// events are found through audit_by_user, filled in arrears
// (auditindex.go).

const auditColumns = "seq, time, type, outcome, user_id, target, client, request_id, prev, hash"

func scanAudit(s scanner) (*strongroom.AuditEvent, error) {
	var e strongroom.AuditEvent
	var t int64
	if err := s.Scan(&e.Seq, &t, &e.Type, &e.Outcome, &e.UserID, &e.Target, &e.Client, &e.RequestID, &e.Prev, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = time.UnixMilli(t).UTC()
	return &e, nil
}

func auditEvents(ctx context.Context, q rowsQuerier, op, query string, args ...any) ([]*strongroom.AuditEvent, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []*strongroom.AuditEvent{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, e)
	}
	return out, mapErr(op, rows.Err())
}

// auditStmts are the statements of an append, prepared once on the
// writer: an append is frequent (every few milliseconds while records are
// read), and preparing its SQL each time cost more than its inserts.
type auditStmts struct {
	end  *sql.Stmt // the head, the last event and the mark of audit_by_user
	head *sql.Stmt // moves the head
	// insert[i] inserts auditInsertRows[i] events in one statement: each
	// execution of a statement costs more than a row it inserts
	// (BenchmarkAppendAudit: an event of a 1000-event append cost 11 µs
	// of CPU inserted alone, 7 in 64s).
	insert [len(auditInsertRows)]*sql.Stmt
}

// auditInsertRows are the rows of the insert statements, largest first.
var auditInsertRows = [...]int{256, 16, 1}

func prepareAudit(ctx context.Context, w *sql.DB) (auditStmts, error) {
	var a auditStmts
	stmts := []struct {
		dst **sql.Stmt
		q   string
	}{
		{&a.end, `SELECT (SELECT seq FROM audit_head WHERE id = 1), (SELECT hash FROM audit_head WHERE id = 1),
			(SELECT seq FROM audit_events ORDER BY seq DESC LIMIT 1), (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1),
			(SELECT seq FROM audit_indexed WHERE id = 1)`},
		{&a.head, `INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`},
	}
	for i, n := range auditInsertRows {
		stmts = append(stmts, struct {
			dst **sql.Stmt
			q   string
		}{&a.insert[i], "INSERT INTO audit_events (" + auditColumns + ") VALUES " +
			strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")})
	}
	for _, p := range stmts {
		var err error
		if *p.dst, err = w.PrepareContext(ctx, p.q); err != nil {
			return a, err
		}
	}
	return a, nil
}

// AppendAudit appends events in one transaction: it reads the end of the
// chain (the later of the last event and the head: if the newest events
// were deleted, the chain goes on after the head, so the cut stays a gap
// that Verify names), inserts the events and moves the head.
func (db *DB) AppendAudit(ctx context.Context, events []*strongroom.AuditEvent, link strongroom.AuditLink) (err error) {
	if len(events) == 0 {
		return nil
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("append audit", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var headSeq, lastSeq, mark sql.NullInt64
	var headHash, lastHash []byte
	if err := tx.StmtContext(ctx, db.audit.end).QueryRowContext(ctx).Scan(&headSeq, &headHash, &lastSeq, &lastHash, &mark); err != nil {
		return mapErr("append audit", err)
	}
	seq, prev := int64(0), strongroom.AuditGenesis()
	if headSeq.Valid {
		seq, prev = headSeq.Int64, headHash
	}
	if lastSeq.Valid && lastSeq.Int64 > seq {
		seq, prev = lastSeq.Int64, lastHash
	}
	for _, e := range events {
		seq++
		e.Seq, e.Prev = seq, prev
		e.Hash = link(e)
		prev = e.Hash
	}
	args := make([]any, 0, 10*auditInsertRows[0])
	for rest := events; len(rest) > 0; {
		i := 0
		for auditInsertRows[i] > len(rest) {
			i++
		}
		n := auditInsertRows[i]
		args = args[:0]
		for _, e := range rest[:n] {
			args = append(args, e.Seq, e.Time.UnixMilli(), e.Type, e.Outcome, e.UserID, e.Target, e.Client, e.RequestID, e.Prev, e.Hash)
		}
		if _, err := tx.StmtContext(ctx, db.audit.insert[i]).ExecContext(ctx, args...); err != nil {
			return mapErr("append audit", err)
		}
		rest = rest[n:]
	}
	if _, err := tx.StmtContext(ctx, db.audit.head).ExecContext(ctx, seq, prev); err != nil {
		return mapErr("append audit", err)
	}
	if err := indexAudit(ctx, tx, mark.Int64, seq); err != nil {
		return err
	}
	return mapErr("append audit", tx.Commit())
}

// AuditEvents lists events newest first. A user's come from the tail and
// audit_by_user (auditindex.go); with a type, the (type, seq) index gives
// them in order; otherwise the primary key does.
func (db *DB) AuditEvents(ctx context.Context, f strongroom.AuditFilter) ([]*strongroom.AuditEvent, error) {
	if f.UserID != "" {
		return db.userAuditEvents(ctx, f) // auditindex.go
	}
	var where []string
	var args []any
	switch f.Type {
	case "":
	case strongroom.AuditRecordRead:
		where, args = append(where, "type = ?"), append(args, f.Type)
	default:
		// Said in the query's own words, so that SQLite may use the
		// per-type index, which holds every type but record reads.
		where, args = append(where, "type = ?", "type <> '"+strongroom.AuditRecordRead+"'"), append(args, f.Type)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, f.Since.UnixMilli())
	}
	if f.Before > 0 {
		where, args = append(where, "seq < ?"), append(args, f.Before)
	}
	q := "SELECT " + auditColumns + " FROM audit_events"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq DESC LIMIT ?"
	return auditEvents(ctx, db.r, "list audit events", q, append(args, pageLimit(f.Limit))...)
}

// pageLimit clamps a page size to 1..MaxAuditPage.
func pageLimit(n int) int { return min(max(n, 1), strongroom.MaxAuditPage) }

// AuditChain returns the chain oldest first, after a seq.
func (db *DB) AuditChain(ctx context.Context, after int64, limit int) ([]*strongroom.AuditEvent, error) {
	return auditEvents(ctx, db.r, "read audit chain",
		"SELECT "+auditColumns+" FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", after, pageLimit(limit))
}

// AuditHead returns the head row; KindNotFound if it was deleted.
func (db *DB) AuditHead(ctx context.Context) (strongroom.AuditHead, error) {
	var h strongroom.AuditHead
	err := db.r.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return h, notFound("audit head")
	}
	return h, mapErr("read audit head", err)
}

// AuditStart returns the start row, or Seq 0 if the chain was never pruned.
func (db *DB) AuditStart(ctx context.Context) (strongroom.AuditStart, error) {
	return auditStart(ctx, db.r)
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func auditStart(ctx context.Context, q rowQuerier) (strongroom.AuditStart, error) {
	var s strongroom.AuditStart
	err := q.QueryRowContext(ctx, "SELECT seq, prev, mac FROM audit_start WHERE id = 1").Scan(&s.Seq, &s.Prev, &s.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return strongroom.AuditStart{}, nil
	}
	return s, mapErr("read audit start", err)
}

// PruneAudit records the new start and deletes the events before it in
// one transaction. The new start is the first event at or after before,
// but never past the head or the last event.
func (db *DB) PruneAudit(ctx context.Context, before time.Time, seal strongroom.AuditSeal) (n int, err error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, mapErr("prune audit", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var limit sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(seq) FROM audit_events").Scan(&limit); err != nil {
		return 0, mapErr("prune audit", err)
	}
	var head int64
	switch err := tx.QueryRowContext(ctx, "SELECT seq FROM audit_head WHERE id = 1").Scan(&head); {
	case err == nil && head < limit.Int64:
		limit.Int64 = head
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, mapErr("prune audit", err)
	}
	keep := limit.Int64
	var first int64
	switch err := tx.QueryRowContext(ctx, "SELECT seq FROM audit_events WHERE time >= ? ORDER BY seq LIMIT 1", before.UnixMilli()).Scan(&first); {
	case err == nil && first < keep:
		keep = first
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return 0, mapErr("prune audit", err)
	}
	cur, err := auditStart(ctx, tx)
	if err != nil {
		return 0, err
	}
	if keep > cur.Seq {
		var older bool
		if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM audit_events WHERE seq < ?)", keep).Scan(&older); err != nil {
			return 0, mapErr("prune audit", err)
		}
		if !older {
			_ = tx.Rollback()
			return 0, nil
		}
		if err := recordAuditStart(ctx, tx, keep, seal); err != nil {
			return 0, err
		}
	} else {
		// Nothing newer to prune. Events before the start are left only by
		// a hand on the database here (a prune is one transaction), but on
		// MongoDB by a prune cut short, which this step finishes: alike.
		keep = cur.Seq
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM audit_events WHERE seq < ?", keep)
	if err != nil {
		return 0, mapErr("prune audit", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM audit_by_user WHERE seq < ?", keep); err != nil {
		return 0, mapErr("prune audit", err)
	}
	deleted, _ := res.RowsAffected()
	return int(deleted), mapErr("prune audit", tx.Commit())
}

// recordAuditStart seals and records event seq as the chain's start.
func recordAuditStart(ctx context.Context, tx *sql.Tx, seq int64, seal strongroom.AuditSeal) error {
	start := strongroom.AuditStart{Seq: seq}
	if err := tx.QueryRowContext(ctx, "SELECT prev FROM audit_events WHERE seq = ?", seq).Scan(&start.Prev); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return strongroom.Internal("sqlite: prune audit", errors.New("the event to start the chain at is missing; run strongroom audit verify"))
		}
		return mapErr("prune audit", err)
	}
	start.MAC = seal(start)
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_start (id, seq, prev, mac) VALUES (1, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, prev = excluded.prev, mac = excluded.mac`, start.Seq, start.Prev, start.MAC)
	return mapErr("prune audit", err)
}
