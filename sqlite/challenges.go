package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
)

// PutChallenge stores c in place of the user's challenge of that purpose,
// and drops expired challenges while it is at it.
func (db *DB) PutChallenge(ctx context.Context, c *strongroom.Challenge) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("put challenge", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, "DELETE FROM otp_challenges WHERE expires_at <= ? OR (user_id = ? AND purpose = ?)",
		c.CreatedAt.UnixMilli(), c.UserID, string(c.Purpose)); err != nil {
		return mapErr("put challenge", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO otp_challenges (id, user_id, purpose, code_hash, lookup_hash, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, NULLIF(?, ''), ?, ?, ?)`, c.ID, c.UserID, string(c.Purpose), c.CodeHash, c.LookupHash, c.Attempts,
		c.CreatedAt.UnixMilli(), c.ExpiresAt.UnixMilli()); err != nil {
		return mapErr("put challenge", err)
	}
	return mapErr("put challenge", tx.Commit())
}

const challengeColumns = "id, user_id, purpose, code_hash, COALESCE(lookup_hash, ''), attempts, created_at, expires_at"

func scanChallenge(row *sql.Row) (*strongroom.Challenge, error) {
	var c strongroom.Challenge
	var p string
	var created, expires int64
	err := row.Scan(&c.ID, &c.UserID, &p, &c.CodeHash, &c.LookupHash, &c.Attempts, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("challenge")
	}
	if err != nil {
		return nil, mapErr("read challenge", err)
	}
	c.Purpose = strongroom.Purpose(p)
	c.CreatedAt, c.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	return &c, nil
}

// Challenge returns the user's live challenge of that purpose.
func (db *DB) Challenge(ctx context.Context, userID string, purpose strongroom.Purpose, now time.Time) (*strongroom.Challenge, error) {
	return scanChallenge(db.r.QueryRowContext(ctx, "SELECT "+challengeColumns+
		" FROM otp_challenges WHERE user_id = ? AND purpose = ? AND expires_at > ?", userID, string(purpose), now.UnixMilli()))
}

// ChallengeByLookup returns the live challenge with that lookup hash.
func (db *DB) ChallengeByLookup(ctx context.Context, lookupHash string, now time.Time) (*strongroom.Challenge, error) {
	return scanChallenge(db.r.QueryRowContext(ctx, "SELECT "+challengeColumns+
		" FROM otp_challenges WHERE lookup_hash = ? AND expires_at > ?", lookupHash, now.UnixMilli()))
}

// SetChallengeCode replaces the code hash of a challenge that still exists.
func (db *DB) SetChallengeCode(ctx context.Context, id, codeHash string) error {
	res, err := db.w.ExecContext(ctx, "UPDATE otp_challenges SET code_hash = ? WHERE id = ?", codeHash, id)
	if err != nil {
		return mapErr("set challenge code", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("challenge")
	}
	return nil
}

// ClaimChallengeAttempt counts one try, only while the challenge is live
// and has tries left.
func (db *DB) ClaimChallengeAttempt(ctx context.Context, id string, now time.Time, max int) error {
	res, err := db.w.ExecContext(ctx, "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ? AND attempts < ? AND expires_at > ?",
		id, max, now.UnixMilli())
	if err != nil {
		return mapErr("claim challenge attempt", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("challenge")
	}
	return nil
}

// ConsumeChallenge deletes the challenge; only one caller succeeds.
func (db *DB) ConsumeChallenge(ctx context.Context, id string) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM otp_challenges WHERE id = ?", id)
	if err != nil {
		return mapErr("consume challenge", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("challenge")
	}
	return nil
}
