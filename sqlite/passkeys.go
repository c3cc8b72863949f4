package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
)

// AddPasskey stores a passkey while its user has fewer than max, in one
// statement (so one atomic step); a credential id stored already (for any
// account) is ErrPasskeyTaken.
func (db *DB) AddPasskey(ctx context.Context, p *strongroom.Passkey, max int) error {
	res, err := db.w.ExecContext(ctx, `INSERT INTO passkeys (id, user_id, credential_id, name, public_key, aaguid, sign_count,
		backup_eligible, backup_state, transports, created_at, last_used_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL WHERE (SELECT COUNT(*) FROM passkeys WHERE user_id = ?) < ?`,
		p.ID, p.UserID, p.CredentialID, p.Name, p.PublicKey, nonNil(p.AAGUID), int64(p.SignCount), p.BackupEligible, p.BackupState,
		strings.Join(p.Transports, ","), p.CreatedAt.UnixMilli(), p.UserID, max)
	if err != nil && strongroom.IsKind(mapErr("add passkey", err), strongroom.KindConflict) && strings.Contains(err.Error(), "passkeys.credential_id") {
		return strongroom.ErrPasskeyTaken
	}
	if err != nil {
		return mapErr("add passkey", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return strongroom.ErrPasskeyLimit
	}
	return nil
}

// nonNil stores an absent byte string as an empty one, not NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const passkeyColumns = `id, user_id, credential_id, name, public_key, aaguid, sign_count, backup_eligible, backup_state,
	transports, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (*strongroom.Passkey, error) {
	var p strongroom.Passkey
	var count, created int64
	var transports string
	var used sql.NullInt64
	err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Name, &p.PublicKey, &p.AAGUID, &count, &p.BackupEligible, &p.BackupState,
		&transports, &created, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("passkey")
	}
	if err != nil {
		return nil, mapErr("read passkey", err)
	}
	p.SignCount = uint32(count)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.CreatedAt = time.UnixMilli(created).UTC()
	if used.Valid {
		p.LastUsedAt = time.UnixMilli(used.Int64).UTC()
	}
	return &p, nil
}

// Passkeys returns the user's passkeys, oldest first.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*strongroom.Passkey, error) {
	rows, err := db.r.QueryContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE user_id = ? ORDER BY created_at, id", userID)
	if err != nil {
		return nil, mapErr("passkeys", err)
	}
	defer rows.Close()
	out := []*strongroom.Passkey{}
	for rows.Next() {
		p, err := scanPasskey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, mapErr("passkeys", rows.Err())
}

// PasskeyByCredential returns the passkey with that credential id.
func (db *DB) PasskeyByCredential(ctx context.Context, credentialID []byte) (*strongroom.Passkey, error) {
	return scanPasskey(db.r.QueryRowContext(ctx, "SELECT "+passkeyColumns+" FROM passkeys WHERE credential_id = ?", credentialID))
}

// UsePasskey records a sign-in with one of the user's passkeys, if its
// counter is still from.
func (db *DB) UsePasskey(ctx context.Context, userID, id string, from, signCount uint32, backupState bool, at time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE passkeys SET sign_count = ?, backup_state = ?, last_used_at = ?
		WHERE id = ? AND user_id = ? AND sign_count = ?`, int64(signCount), backupState, at.UnixMilli(), id, userID, int64(from))
	if err != nil {
		return mapErr("use passkey", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	var one int
	err = db.w.QueryRowContext(ctx, "SELECT 1 FROM passkeys WHERE id = ? AND user_id = ?", id, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("passkey")
	}
	if err != nil {
		return mapErr("use passkey", err)
	}
	return strongroom.ErrPasskeyUsed
}

// DeletePasskey deletes one of the user's passkeys.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM passkeys WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return mapErr("delete passkey", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("passkey")
	}
	return nil
}

// PutCeremony stores a ceremony's challenge hash and drops expired ones.
func (db *DB) PutCeremony(ctx context.Context, hash string, now, expires time.Time) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return mapErr("put ceremony", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	if _, err := tx.ExecContext(ctx, "DELETE FROM passkey_ceremonies WHERE expires_at <= ?", now.UnixMilli()); err != nil {
		return mapErr("put ceremony", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO passkey_ceremonies (hash, expires_at) VALUES (?, ?)", hash, expires.UnixMilli()); err != nil {
		return mapErr("put ceremony", err)
	}
	return mapErr("put ceremony", tx.Commit())
}

// TakeCeremony deletes a live ceremony's hash; only one caller succeeds.
func (db *DB) TakeCeremony(ctx context.Context, hash string, now time.Time) error {
	res, err := db.w.ExecContext(ctx, "DELETE FROM passkey_ceremonies WHERE hash = ? AND expires_at > ?", hash, now.UnixMilli())
	if err != nil {
		return mapErr("take ceremony", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("passkey challenge")
	}
	return nil
}

var (
	_ strongroom.PasskeyStore  = (*DB)(nil)
	_ strongroom.CeremonyStore = (*DB)(nil)
)
