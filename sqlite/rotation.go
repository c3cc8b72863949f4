package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
)

// Rotation returns the progress of the latest rotation (zero if none).
func (db *DB) Rotation(ctx context.Context) (strongroom.Rotation, error) {
	r, _, _, err := db.readRotation(ctx, db.r)
	return r, err
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) readRotation(ctx context.Context, q querier) (strongroom.Rotation, string, time.Time, error) {
	var r strongroom.Rotation
	var state string
	var owner sql.NullString
	var started, updated, finished, until sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT state, target_version, rewrapped, started_at, updated_at, finished_at, lease_owner, lease_until
		FROM key_rotation WHERE id = 1`).Scan(&state, &r.TargetVersion, &r.Rewrapped, &started, &updated, &finished, &owner, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return r, "", time.Time{}, nil
	}
	if err != nil {
		return r, "", time.Time{}, mapErr("read rotation", err)
	}
	r.State = strongroom.RotationState(state)
	r.StartedAt, r.UpdatedAt, r.FinishedAt = fromMS(started), fromMS(updated), fromMS(finished)
	return r, owner.String, fromMS(until), nil
}

// BeginRotation takes the lease, unless another owner holds a live one.
func (db *DB) BeginRotation(ctx context.Context, owner string, now time.Time, ttl time.Duration) (strongroom.Rotation, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return strongroom.Rotation{}, mapErr("begin rotation", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	r, holder, until, err := db.readRotation(ctx, tx)
	if err != nil {
		return r, err
	}
	if holder != "" && holder != owner && now.Before(until) {
		return r, strongroom.Errorf(strongroom.KindConflict, "a master key rotation is already running")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO key_rotation (id, state, target_version, rewrapped, lease_owner, lease_until)
		VALUES (1, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until`,
		string(r.State), r.TargetVersion, r.Rewrapped, owner, now.Add(ttl).UnixMilli()); err != nil {
		return r, mapErr("begin rotation", err)
	}
	return r, mapErr("begin rotation", tx.Commit())
}

// SaveRotation stores progress and renews the lease if owner holds it.
func (db *DB) SaveRotation(ctx context.Context, owner string, r strongroom.Rotation, now time.Time, ttl time.Duration) error {
	var leaseOwner, leaseUntil any = owner, now.Add(ttl).UnixMilli()
	if r.State == strongroom.RotationDone {
		leaseOwner, leaseUntil = nil, nil
	}
	res, err := db.w.ExecContext(ctx, `UPDATE key_rotation SET state = ?, target_version = ?, rewrapped = ?, started_at = ?,
		updated_at = ?, finished_at = ?, lease_owner = ?, lease_until = ? WHERE id = 1 AND lease_owner = ?`,
		string(r.State), r.TargetVersion, r.Rewrapped, ms(r.StartedAt), ms(r.UpdatedAt), ms(r.FinishedAt), leaseOwner, leaseUntil, owner)
	if err != nil {
		return mapErr("save rotation", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return strongroom.Errorf(strongroom.KindConflict, "the rotation lease was lost to another process")
	}
	return nil
}
