package sqlite

import (
	"context"
	"database/sql"
	"errors"
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

// Records returns the user's records, oldest first.
func (db *DB) Records(ctx context.Context, userID string) ([]*strongroom.Record, error) {
	qctx, err := indexed(ctx)
	if err != nil {
		return nil, mapErr("list records", err)
	}
	rows, err := db.records.QueryContext(qctx, userID)
	if err != nil {
		return nil, mapErr("list records", err)
	}
	defer rows.Close()
	out := []*strongroom.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, mapErr("list records", err)
		}
		out = append(out, r)
	}
	return out, mapErr("list records", rows.Err())
}

// UpdateRecord replaces the data_type and encrypted value of a record.
func (db *DB) UpdateRecord(ctx context.Context, r *strongroom.Record) error {
	res, err := db.w.ExecContext(ctx, "UPDATE sensitive_data SET data_type = ?, encrypted_value = ?, updated_at = ? WHERE id = ? AND user_id = ?",
		r.DataType, r.EncryptedValue, r.UpdatedAt.UnixMilli(), r.ID, r.UserID)
	if err != nil {
		return mapErr("update record", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("record")
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
