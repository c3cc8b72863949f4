package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/strongroom/strongroom"
)

// Sessions live in the sessions table, without a foreign key to users: an
// ended session stays, as a tombstone, until its token expires, also after
// its user is deleted. The user's sessions_epoch and deleted_at columns
// guard their creation (CreateSession); every write that reads one of them
// runs in the writer's immediate transactions, so none can interleave.

const sessionColumns = "id, user_id, created_at, expires_at, client, user_agent, ended_at, COALESCE(end_reason, '')"

func scanSession(s scanner) (*strongroom.Session, error) {
	var x strongroom.Session
	var created, expires int64
	var ended sql.NullInt64
	var reason string
	if err := s.Scan(&x.ID, &x.UserID, &created, &expires, &x.Client, &x.UserAgent, &ended, &reason); err != nil {
		return nil, err
	}
	x.CreatedAt, x.ExpiresAt = time.UnixMilli(created).UTC(), time.UnixMilli(expires).UTC()
	x.EndedAt, x.EndReason = fromMS(ended), strongroom.EndReason(reason)
	return &x, nil
}

// rowsQuerier is what both the pools and a transaction can query.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// sessions runs a query of sessionColumns and reads every row.
func sessions(ctx context.Context, q rowsQuerier, op, query string, args ...any) ([]*strongroom.Session, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []*strongroom.Session{}
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, s)
	}
	return out, mapErr(op, rows.Err())
}

// CreateSession inserts s in one statement that applies only while the
// user exists at that sessions epoch and is not being deleted.
func (db *DB) CreateSession(ctx context.Context, s *strongroom.Session, epoch int64) error {
	res, err := db.w.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, expires_at, client, user_agent, ended_at, end_reason)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, NULLIF(?8, '')
		WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND sessions_epoch = ?9 AND deleted_at IS NULL)`,
		s.ID, s.UserID, s.CreatedAt.UnixMilli(), s.ExpiresAt.UnixMilli(), s.Client, s.UserAgent, ms(s.EndedAt), string(s.EndReason), epoch)
	if err != nil {
		return mapErr("create session", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return strongroom.ErrSessionsEnded
	}
	return nil
}

// Sessions returns up to limit of the user's sessions live at now, newest
// first, along the (user_id, created_at, id) index.
func (db *DB) Sessions(ctx context.Context, userID string, now time.Time, limit int) ([]*strongroom.Session, error) {
	if limit < 1 {
		return []*strongroom.Session{}, nil // SQLite reads a negative LIMIT as none
	}
	return sessions(ctx, db.r, "list sessions", "SELECT "+sessionColumns+` FROM sessions
		WHERE user_id = ? AND ended_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT ?`,
		userID, now.UnixMilli(), limit)
}

// EndSession ends one live session of the user in one UPDATE.
func (db *DB) EndSession(ctx context.Context, userID, id string, reason strongroom.EndReason, now time.Time) (*strongroom.Session, error) {
	s, err := scanSession(db.w.QueryRowContext(ctx, `UPDATE sessions SET ended_at = ?, end_reason = ?
		WHERE id = ? AND user_id = ? AND ended_at IS NULL AND expires_at > ? RETURNING `+sessionColumns,
		now.UnixMilli(), string(reason), id, userID, now.UnixMilli()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	if err != nil {
		return nil, mapErr("end session", err)
	}
	return s, nil
}

// EndSessions moves the user's sessions epoch on, deletes the user's login
// challenges and ends the user's live sessions but keep, in one
// transaction. A user that does not exist has no epoch to move; whatever
// sessions it left are ended all the same.
func (db *DB) EndSessions(ctx context.Context, userID, keep string, reason strongroom.EndReason, now time.Time) ([]*strongroom.Session, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr("end sessions", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, "UPDATE users SET sessions_epoch = sessions_epoch + 1 WHERE id = ?", userID); err != nil {
		return nil, mapErr("end sessions", err)
	}
	ended, err := endSessions(ctx, tx, userID, keep, reason, now)
	if err != nil {
		return nil, err
	}
	return ended, mapErr("end sessions", tx.Commit())
}

// endSessions is the rest of EndSessions, in the caller's transaction,
// once the epoch has moved: the login challenges go, so a login waiting
// for its second factor starts again, and the live sessions but keep end.
// They are returned newest first.
func endSessions(ctx context.Context, tx *sql.Tx, userID, keep string, reason strongroom.EndReason, now time.Time) ([]*strongroom.Session, error) {
	if _, err := tx.ExecContext(ctx, "DELETE FROM otp_challenges WHERE user_id = ? AND purpose = ?", userID, string(strongroom.PurposeLogin)); err != nil {
		return nil, mapErr("end sessions", err)
	}
	ended, err := sessions(ctx, tx, "end sessions", `UPDATE sessions SET ended_at = ?1, end_reason = ?2
		WHERE user_id = ?3 AND ended_at IS NULL AND expires_at > ?1 AND id <> ?4 RETURNING `+sessionColumns,
		now.UnixMilli(), string(reason), userID, keep)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ended, newestFirst)
	return ended, nil
}

func newestFirst(a, b *strongroom.Session) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.ID > b.ID:
		return -1
	case a.ID < b.ID:
		return 1
	}
	return 0
}

// EndedSessions returns the sessions that ended at or after since, oldest
// end first, along the partial index on ended_at.
func (db *DB) EndedSessions(ctx context.Context, since time.Time) ([]*strongroom.Session, error) {
	return sessions(ctx, db.r, "ended sessions", "SELECT "+sessionColumns+` FROM sessions
		WHERE ended_at IS NOT NULL AND ended_at >= ? ORDER BY ended_at, id`, since.UnixMilli())
}

// PurgeSessions deletes the sessions that expired before before.
func (db *DB) PurgeSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := db.w.ExecContext(ctx, "DELETE FROM sessions WHERE expires_at < ?", before.UnixMilli())
	if err != nil {
		return 0, mapErr("purge sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), mapErr("purge sessions", err)
}

// SetPassword replaces the hash and salt and moves the epoch on in one
// UPDATE that applies only at epoch, then ends the other sessions, all in
// one transaction.
func (db *DB) SetPassword(ctx context.Context, userID, hash, salt, keep string, epoch int64, now time.Time) ([]*strongroom.Session, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr("set password", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var current int64
	err = tx.QueryRowContext(ctx, "SELECT sessions_epoch FROM users WHERE id = ? AND deleted_at IS NULL", userID).Scan(&current)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user")
	}
	if err != nil {
		return nil, mapErr("set password", err)
	}
	if current != epoch {
		return nil, strongroom.ErrSessionsEnded
	}
	if _, err := tx.ExecContext(ctx, `UPDATE users SET hashed_password = ?, salt = ?, sessions_epoch = sessions_epoch + 1
		WHERE id = ?`, hash, salt, userID); err != nil {
		return nil, mapErr("set password", err)
	}
	ended, err := endSessions(ctx, tx, userID, keep, strongroom.EndPasswordChanged, now)
	if err != nil {
		return nil, err
	}
	return ended, mapErr("set password", tx.Commit())
}

// DestroyUserKey marks the user as being deleted (keeping an earlier mark)
// and deletes the wrapped key in one transaction, durable on commit. The
// writer's secure_delete has zeroed the key's bytes in the pages that held
// it; the checkpoint then copies those pages into the database file and
// truncates the write-ahead log, which still held the older page images.
// If readers keep the log busy too long, the key is gone from the store
// but maybe not from the log, and the call fails as unavailable: calling
// it again finishes.
func (db *DB) DestroyUserKey(ctx context.Context, userID string, now time.Time) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("destroy user key", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	res, err := tx.ExecContext(ctx, `UPDATE users SET deleted_at = COALESCE(deleted_at, ?), sessions_epoch = sessions_epoch + 1
		WHERE id = ?`, now.UnixMilli(), userID)
	if err != nil {
		return mapErr("destroy user key", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("user")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_keys WHERE user_id = ?", userID); err != nil {
		return mapErr("destroy user key", err)
	}
	if err := tx.Commit(); err != nil {
		return mapErr("destroy user key", err)
	}
	return db.checkpoint(ctx, checkpointAttempts)
}

// DeleteUser deletes a user being deleted and everything of theirs but
// their sessions (tombstones until they expire), in one transaction, then
// checkpoints the log if it can at once: the records were under the
// destroyed key, so their bytes lingering a while in free space or in the
// log is not an error.
func (db *DB) DeleteUser(ctx context.Context, userID string) (int, error) {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, mapErr("delete user", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var deleted sql.NullInt64
	err = tx.QueryRowContext(ctx, "SELECT deleted_at FROM users WHERE id = ?", userID).Scan(&deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, notFound("user")
	}
	if err != nil {
		return 0, mapErr("delete user", err)
	}
	if !deleted.Valid {
		return 0, strongroom.Errorf(strongroom.KindConflict, "the account is not being deleted")
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM sensitive_data WHERE user_id = ?", userID)
	if err != nil {
		return 0, mapErr("delete user", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapErr("delete user", err)
	}
	for _, q := range []string{
		"DELETE FROM record_usage WHERE user_id = ?",
		"DELETE FROM recovery_codes WHERE user_id = ?",
		"DELETE FROM otp_challenges WHERE user_id = ?",
		"DELETE FROM passkeys WHERE user_id = ?",
		"DELETE FROM user_keys WHERE user_id = ?", // gone already, unless written back by hand
		"DELETE FROM users WHERE id = ?",
	} {
		if _, err := tx.ExecContext(ctx, q, userID); err != nil {
			return 0, mapErr("delete user", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, mapErr("delete user", err)
	}
	_ = db.checkpoint(ctx, 1)
	return int(n), nil
}

// UsersBeingDeleted returns up to limit users whose deletion began, oldest
// first, along the partial index on deleted_at.
func (db *DB) UsersBeingDeleted(ctx context.Context, limit int) ([]*strongroom.User, error) {
	if limit < 1 {
		return []*strongroom.User{}, nil
	}
	rows, err := db.r.QueryContext(ctx, "SELECT "+userColumns+` FROM users
		WHERE deleted_at IS NOT NULL ORDER BY deleted_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, mapErr("users being deleted", err)
	}
	defer rows.Close()
	out := []*strongroom.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, mapErr("users being deleted", rows.Err())
}

// A checkpoint waits at most checkpointBusy for readers each attempt, and
// checkpointPause between attempts, while the writer serves others.
const (
	checkpointAttempts = 10
	checkpointBusy     = 200 * time.Millisecond
	checkpointPause    = 100 * time.Millisecond
	busyTimeout        = 10000 // milliseconds: the DSN's busy_timeout, put back after a checkpoint
)

// errCheckpointBusy is the cause of a checkpoint that readers kept from
// completing.
var errCheckpointBusy = errors.New("sqlite: checkpoint: readers kept the write-ahead log busy")

// checkpoint copies the whole write-ahead log into the database file and
// truncates the log to zero bytes, trying up to attempts times. A
// TRUNCATE checkpoint must wait until no reader uses the log; a reader
// on an older snapshot blocks it (busy), usually for a moment only.
//
// It runs on the writer's one connection (MaxOpenConns 1), taken for each
// attempt with db.w.Conn: the group-commit goroutine and every other write
// wait for that connection in database/sql as they wait for one another,
// so the checkpoint never runs beside a write of this process. While it
// holds the connection its busy timeout is short, so a busy log does not
// stall writes for the DSN's 10 s, and between attempts the connection is
// given back.
func (db *DB) checkpoint(ctx context.Context, attempts int) error {
	for i := 1; ; i++ {
		done, err := db.checkpointOnce(ctx)
		if err != nil {
			return mapErr("checkpoint", err)
		}
		if done {
			return nil
		}
		if i >= attempts {
			return strongroom.Unavailable("store busy; try again", errCheckpointBusy)
		}
		select {
		case <-ctx.Done():
			return mapErr("checkpoint", ctx.Err())
		case <-time.After(checkpointPause):
		}
	}
}

// checkpointOnce makes one attempt and reports whether it completed.
func (db *DB) checkpointOnce(ctx context.Context) (done bool, err error) {
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA busy_timeout = "+strconv.FormatInt(checkpointBusy.Milliseconds(), 10)); err != nil {
		return false, err
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA busy_timeout = "+strconv.Itoa(busyTimeout)); rerr != nil {
			// The connection would keep the short timeout: have
			// database/sql discard it, so the next one is opened from
			// the DSN.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = rerr
			}
		}
	}()
	var busy, logFrames, checkpointed int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &checkpointed); err != nil {
		return false, err
	}
	return busy == 0, nil
}
