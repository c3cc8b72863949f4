package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/pace"
)

// A rotation's key updates are background work: they yield every
// rotationPaceEvery keys and, while requests are waiting, take about a
// quarter of a core.
const (
	rotationPaceEvery   = 16
	rotationPaceBackoff = 3
)

// UserKey returns the user's wrapped data key, or KindNotFound.
func (db *DB) UserKey(ctx context.Context, userID string) (strongroom.WrappedKey, error) {
	var k strongroom.WrappedKey
	qctx, err := indexed(ctx)
	if err != nil {
		return k, mapErr("read user key", err)
	}
	err = db.userKey.QueryRowContext(qctx, userID).Scan(&k.Ciphertext, &k.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("user key")
	}
	return k, mapErr("read user key", err)
}

// KeysBelowVersion returns up to limit keys older than version, in the
// order of the kek_version index, so each batch of a rotation starts where
// the keys still to do begin instead of stepping over the ones done.
func (db *DB) KeysBelowVersion(ctx context.Context, version, limit int) ([]strongroom.UserKey, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT user_id, wrapped_dek, kek_version FROM user_keys WHERE kek_version < ? ORDER BY kek_version, user_id LIMIT ?", version, limit)
	if err != nil {
		return nil, mapErr("keys below version", err)
	}
	defer rows.Close()
	var out []strongroom.UserKey
	for rows.Next() {
		var k strongroom.UserKey
		if err := rows.Scan(&k.UserID, &k.Key.Ciphertext, &k.Key.Version); err != nil {
			return nil, mapErr("keys below version", err)
		}
		out = append(out, k)
	}
	return out, mapErr("keys below version", rows.Err())
}

// CountKeysBelowVersion counts keys older than version.
func (db *DB) CountKeysBelowVersion(ctx context.Context, version int) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, "SELECT COUNT(*) FROM user_keys WHERE kek_version < ?", version).Scan(&n)
	return n, mapErr("count keys", err)
}

// UpdateKeys applies a batch of rewrapped keys in one transaction; a key
// that moved on meanwhile is left alone.
func (db *DB) UpdateKeys(ctx context.Context, updates []strongroom.KeyUpdate) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, mapErr("update keys", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	stmt, err := tx.PrepareContext(ctx, "UPDATE user_keys SET wrapped_dek = ?, kek_version = ?, updated_at = ? WHERE user_id = ? AND kek_version = ?")
	if err != nil {
		return 0, mapErr("update keys", err)
	}
	defer stmt.Close()
	n := 0
	now := time.Now().UnixMilli()
	pacer := pace.New(rotationPaceEvery, rotationPaceBackoff) // a background batch: requests first
	for _, u := range updates {
		pacer.Step()
		res, err := stmt.ExecContext(ctx, u.To.Ciphertext, u.To.Version, now, u.UserID, u.From)
		if err != nil {
			return 0, mapErr("update keys", err)
		}
		c, _ := res.RowsAffected()
		n += int(c)
	}
	if err := tx.Commit(); err != nil {
		return 0, mapErr("update keys", err)
	}
	return n, nil
}
