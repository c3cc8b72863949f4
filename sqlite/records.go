package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/strongroom/strongroom"
)

const recordColumns = "id, user_id, data_type, encrypted_value, created_at, updated_at"

type scanner interface{ Scan(...any) error }

func scanRecord(s scanner) (*strongroom.Record, error) {
	var r strongroom.Record
	var created, updated int64
	if err := s.Scan(&r.ID, &r.UserID, &r.DataType, &r.EncryptedValue, &created, &updated); err != nil {
		return nil, err
	}
	r.CreatedAt, r.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &r, nil
}

// Record returns one of the user's records, or KindNotFound.
func (db *DB) Record(ctx context.Context, userID, id string) (*strongroom.Record, error) {
	qctx, err := indexed(ctx)
	if err != nil {
		return nil, mapErr("read record", err)
	}
	r, err := scanRecord(db.record.QueryRowContext(qctx, id, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("record")
	}
	if err != nil {
		return nil, mapErr("read record", err)
	}
	return r, nil
}

// Records returns up to limit of the user's records after the cursor, in
// list order.
func (db *DB) Records(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]*strongroom.Record, error) {
	rows, err := db.page(ctx, db.records, db.recordsAfter, userID, after, limit)
	if err != nil {
		return nil, mapErr("list records", err)
	}
	defer rows.Close()
	out := make([]*strongroom.Record, 0, min(limit, 256))
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, mapErr("list records", err)
		}
		out = append(out, r)
	}
	return out, mapErr("list records", rows.Err())
}

// RecordCursors returns the places of up to limit of the user's records
// after the cursor, in list order, without reading their values.
func (db *DB) RecordCursors(ctx context.Context, userID string, after strongroom.RecordCursor, limit int) ([]strongroom.RecordCursor, error) {
	rows, err := db.page(ctx, db.cursors, db.cursorsAfter, userID, after, limit)
	if err != nil {
		return nil, mapErr("list records", err)
	}
	defer rows.Close()
	out := make([]strongroom.RecordCursor, 0, min(limit, 1024))
	for rows.Next() {
		var c strongroom.RecordCursor
		var created int64
		if err := rows.Scan(&c.ID, &created); err != nil {
			return nil, mapErr("list records", err)
		}
		c.CreatedAt = time.UnixMilli(created).UTC()
		out = append(out, c)
	}
	return out, mapErr("list records", rows.Err())
}

// page runs one of a pair of prepared page queries: from the start of the
// list, or after a cursor.
func (db *DB) page(ctx context.Context, first, next *sql.Stmt, userID string, after strongroom.RecordCursor, limit int) (*sql.Rows, error) {
	if limit < 1 {
		return nil, fmt.Errorf("page limit %d", limit)
	}
	qctx, err := indexed(ctx)
	if err != nil {
		return nil, err
	}
	if after.IsZero() {
		return first.QueryContext(qctx, userID, limit)
	}
	return next.QueryContext(qctx, userID, after.CreatedAt.UnixMilli(), after.ID, limit)
}

// RecordUsage returns the user's record count and stored bytes, which
// triggers keep in record_usage within each write's transaction. Every
// whole list asks it (for the account's budget of values), so it is a
// prepared statement on the readers, answered from the primary key.
func (db *DB) RecordUsage(ctx context.Context, userID string) (strongroom.Usage, error) {
	var u strongroom.Usage
	qctx, err := indexed(ctx)
	if err != nil {
		return u, mapErr("record usage", err)
	}
	err = db.readUsage.QueryRowContext(qctx, userID).Scan(&u.Records, &u.Bytes)
	if errors.Is(err, sql.ErrNoRows) {
		return strongroom.Usage{}, nil
	}
	return u, mapErr("record usage", err)
}

// UpdateRecord replaces the data_type and encrypted value of a record. The
// byte quota is checked in the same statement as the update, so parallel
// updates cannot overshoot it.
func (db *DB) UpdateRecord(ctx context.Context, r *strongroom.Record, q strongroom.Quota) error {
	maxBytes := q.MaxBytes
	if maxBytes <= 0 {
		maxBytes = math.MaxInt64
	}
	res, err := db.w.ExecContext(ctx, `UPDATE sensitive_data SET data_type = ?1, encrypted_value = ?2, updated_at = ?3
		WHERE id = ?4 AND user_id = ?5
		AND (LENGTH(?2) <= LENGTH(encrypted_value)
			OR LENGTH(?2) - LENGTH(encrypted_value) <= ?6 - (SELECT bytes FROM record_usage WHERE user_id = ?5))`,
		r.DataType, r.EncryptedValue, r.UpdatedAt.UnixMilli(), r.ID, r.UserID, maxBytes)
	if err != nil {
		return mapErr("update record", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Either no such record of this user, or the quota refused it.
		if _, err := db.Record(ctx, r.UserID, r.ID); err != nil {
			return err
		}
		return strongroom.ErrByteQuota(q.MaxBytes)
	}
	return nil
}

// DeleteRecord deletes one of the user's records.
func (db *DB) DeleteRecord(ctx context.Context, userID, id string) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM sensitive_data WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return mapErr("delete record", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("record")
	}
	return nil
}
