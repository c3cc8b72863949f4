package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
)

// CreateUser inserts the user and their wrapped data key in one transaction.
func (db *DB) CreateUser(ctx context.Context, u *strongroom.User, key strongroom.WrappedKey, firstIsAdmin bool) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("create user", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var target int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(target_version), 0) FROM key_rotation").Scan(&target); err != nil {
		return mapErr("create user", err)
	}
	if key.Version < target {
		return strongroom.ErrStaleKey
	}
	if firstIsAdmin {
		// The first account the store ever had is the admin: a store
		// emptied by deleting every account makes nobody admin again, so
		// the next stranger to register does not take the role over.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM users LIMIT 1)").Scan(&n); err != nil {
			return mapErr("create user", err)
		}
		if n == 0 {
			res, err := tx.ExecContext(ctx, "INSERT INTO first_account (id, user_id) VALUES (1, ?) ON CONFLICT DO NOTHING", u.ID)
			if err != nil {
				return mapErr("create user", err)
			}
			claimed, _ := res.RowsAffected()
			u.IsAdmin = claimed == 1
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO users (id, username, email, hashed_password, salt, failed_attempts,
		last_failed_attempt_time, totp_secret, two_factor_enabled, is_admin, created_at)
		VALUES (?, ?, ?, ?, ?, 0, NULL, NULLIF(?, ''), ?, ?, ?)`,
		u.ID, u.Username, u.Email, u.HashedPassword, u.Salt, u.TOTPSecret, u.TwoFactorEnabled, u.IsAdmin, u.CreatedAt.UnixMilli())
	if err != nil {
		return mapErr("create user", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_keys (user_id, wrapped_dek, kek_version, updated_at) VALUES (?, ?, ?, ?)`,
		u.ID, key.Ciphertext, key.Version, u.CreatedAt.UnixMilli()); err != nil {
		return mapErr("create user key", err)
	}
	return mapErr("create user", tx.Commit())
}

const userColumns = `id, username, email, hashed_password, salt, failed_attempts, last_failed_attempt_time,
	COALESCE(totp_secret, ''), two_factor_enabled, is_admin, created_at,
	email_otp_enabled, totp_enabled, COALESCE(totp_pending_secret, ''), totp_last_step,
	factors_version, otp_failed_attempts, otp_last_failed_attempt_time, sessions_epoch, deleted_at`

func scanUser(row scanner) (*strongroom.User, error) {
	var u strongroom.User
	var last, lastOTP, deleted sql.NullInt64
	var created int64
	err := row.Scan(&u.ID, &u.Username, &u.Email, &u.HashedPassword, &u.Salt, &u.FailedAttempts, &last,
		&u.TOTPSecret, &u.TwoFactorEnabled, &u.IsAdmin, &created,
		&u.EmailOTPEnabled, &u.TOTPEnabled, &u.TOTPPendingSecret, &u.TOTPLastStep,
		&u.FactorsVersion, &u.SecondFactorFailures, &lastOTP, &u.SessionsEpoch, &deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	if err != nil {
		return nil, mapErr("read user", err)
	}
	u.LastFailedAttemptTime = fromMS(last)
	u.LastSecondFactorFailure = fromMS(lastOTP)
	u.DeletedAt = fromMS(deleted)
	u.CreatedAt = time.UnixMilli(created).UTC()
	return &u, nil
}

// UserByUsername returns the user, or KindNotFound (also for a user being
// deleted).
func (db *DB) UserByUsername(ctx context.Context, username string) (*strongroom.User, error) {
	return scanUser(db.r.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE username = ? AND deleted_at IS NULL", username))
}

// UserByID returns the user, or KindNotFound (also for a user being
// deleted).
func (db *DB) UserByID(ctx context.Context, id string) (*strongroom.User, error) {
	return scanUser(db.r.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ? AND deleted_at IS NULL", id))
}

// ClaimLoginAttempt counts a failure up front in one UPDATE that only
// applies while the account is not locked; a count older than the window
// starts again at 1.
func (db *DB) ClaimLoginAttempt(ctx context.Context, userID string, now time.Time, p strongroom.Lockout) (int, error) {
	cutoff := now.Add(-p.Window).UnixMilli()
	var n int
	err := db.w.QueryRowContext(ctx, `UPDATE users SET
		failed_attempts = CASE WHEN last_failed_attempt_time IS NULL OR last_failed_attempt_time <= ?1
			THEN 1 ELSE failed_attempts + 1 END,
		last_failed_attempt_time = ?2
		WHERE id = ?3 AND NOT (failed_attempts >= ?4 AND last_failed_attempt_time > ?1)
		RETURNING failed_attempts`,
		cutoff, now.UnixMilli(), userID, p.MaxFailures).Scan(&n)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, mapErr("claim login attempt", err)
	}
	u, err := db.UserByID(ctx, userID)
	if err != nil {
		return 0, err
	}
	return 0, strongroom.LockedUntil(u.LastFailedAttemptTime.Add(p.Window), now)
}

// ClaimUnknownLoginAttempt counts a failure for a name without an account
// in login_failures, by the same rule as ClaimLoginAttempt, in one upsert.
// Counts past the window are purged at most once a minute, not on every
// attempt.
func (db *DB) ClaimUnknownLoginAttempt(ctx context.Context, username string, now time.Time, p strongroom.Lockout) error {
	cutoff := now.Add(-p.Window).UnixMilli()
	if db.failuresPurge.Due(now, time.Minute) {
		if _, err := db.w.ExecContext(ctx, "DELETE FROM login_failures WHERE last_failed_attempt_time <= ?", cutoff); err != nil {
			return mapErr("purge login failures", err)
		}
	}
	var n int
	err := db.w.QueryRowContext(ctx, `INSERT INTO login_failures (username, failed_attempts, last_failed_attempt_time) VALUES (?1, 1, ?2)
		ON CONFLICT (username) DO UPDATE SET
			failed_attempts = CASE WHEN last_failed_attempt_time <= ?3 THEN 1 ELSE failed_attempts + 1 END,
			last_failed_attempt_time = ?2
		WHERE NOT (failed_attempts >= ?4 AND last_failed_attempt_time > ?3)
		RETURNING failed_attempts`, username, now.UnixMilli(), cutoff, p.MaxFailures).Scan(&n)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return mapErr("claim login attempt", err)
	}
	var last int64
	if err := db.w.QueryRowContext(ctx, "SELECT last_failed_attempt_time FROM login_failures WHERE username = ?", username).Scan(&last); err != nil {
		return mapErr("claim login attempt", err)
	}
	return strongroom.LockedUntil(time.UnixMilli(last).Add(p.Window), now)
}

// ResetLoginFailures clears the failure count.
func (db *DB) ResetLoginFailures(ctx context.Context, userID string) error {
	_, err := db.w.ExecContext(ctx, "UPDATE users SET failed_attempts = 0, last_failed_attempt_time = NULL WHERE id = ? AND failed_attempts != 0", userID)
	return mapErr("reset login failures", err)
}

// ClaimSecondFactorAttempt counts a failed second factor up front; only a
// reset forgets the count.
func (db *DB) ClaimSecondFactorAttempt(ctx context.Context, userID string, now time.Time, p strongroom.Lockout) (int, error) {
	var n int
	err := db.w.QueryRowContext(ctx, `UPDATE users SET otp_failed_attempts = otp_failed_attempts + 1,
		otp_last_failed_attempt_time = ?1
		WHERE id = ?2 AND NOT (otp_failed_attempts >= ?3 AND otp_last_failed_attempt_time > ?4)
		RETURNING otp_failed_attempts`, now.UnixMilli(), userID, p.MaxFailures, now.Add(-p.Window).UnixMilli()).Scan(&n)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, mapErr("claim second factor attempt", err)
	}
	u, err := db.UserByID(ctx, userID)
	if err != nil {
		return 0, err
	}
	return 0, strongroom.LockedUntil(u.LastSecondFactorFailure.Add(p.Window), now)
}

// ResetSecondFactorFailures clears the count of failed second factors.
func (db *DB) ResetSecondFactorFailures(ctx context.Context, userID string) error {
	_, err := db.w.ExecContext(ctx, `UPDATE users SET otp_failed_attempts = 0, otp_last_failed_attempt_time = NULL
		WHERE id = ? AND otp_failed_attempts != 0`, userID)
	return mapErr("reset second factor failures", err)
}

// SetSecondFactors writes the user's second-factor settings if they are
// still at version from.
func (db *DB) SetSecondFactors(ctx context.Context, userID string, from int64, f strongroom.SecondFactors) error {
	res, err := db.w.ExecContext(ctx, `UPDATE users SET email_otp_enabled = ?, totp_enabled = ?, totp_secret = NULLIF(?, ''),
		totp_pending_secret = NULLIF(?, ''), two_factor_enabled = ?, factors_version = factors_version + 1
		WHERE id = ? AND factors_version = ?`,
		f.EmailOTP, f.TOTP, f.TOTPSecret, f.TOTPPending, f.EmailOTP || f.TOTP, userID, from)
	if err != nil {
		return mapErr("set second factors", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.UserByID(ctx, userID); err != nil {
			return err
		}
		return strongroom.ErrFactorsChanged
	}
	return nil
}

// UseTOTPStep moves the last accepted step forward, only forward.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) error {
	res, err := db.w.ExecContext(ctx, "UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?", step, userID, step)
	if err != nil {
		return mapErr("use totp step", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return strongroom.Errorf(strongroom.KindConflict, "this code was already used")
	}
	return nil
}

// ReplaceRecoveryCodes replaces all of the user's recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("replace recovery codes", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, "DELETE FROM recovery_codes WHERE user_id = ?", userID); err != nil {
		return mapErr("replace recovery codes", err)
	}
	for _, h := range hashes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO recovery_codes (code_hash, user_id) VALUES (?, ?)", h, userID); err != nil {
			return mapErr("replace recovery codes", err)
		}
	}
	return mapErr("replace recovery codes", tx.Commit())
}

// UseRecoveryCode deletes one of the user's codes; only one caller wins.
func (db *DB) UseRecoveryCode(ctx context.Context, userID, hash string) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM recovery_codes WHERE code_hash = ? AND user_id = ?", hash, userID)
	if err != nil {
		return mapErr("use recovery code", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("recovery code")
	}
	return nil
}
