// Package sqlite is the embedded store: one SQLite file in WAL mode, via
// modernc.org/sqlite (pure Go, no cgo). Writes go through one connection
// with immediate transactions and synchronous=FULL, so a commit is on disk
// before the caller answers, and secure_delete, so deleted content is
// overwritten; reads use a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/periodic"
)

var _ strongroom.Store = (*DB)(nil)

// FileName is the database's name inside the data directory.
const FileName = "strongroom.db"

// DB is the SQLite store.
type DB struct {
	w *sql.DB // one writer
	r *sql.DB // readers

	// Hot reads, prepared once: database/sql keeps each prepared on every
	// reader connection, so SQLite does not parse the SQL on every request.
	record, records, recordsAfter, cursors, cursorsAfter, userKey, readUsage *sql.Stmt

	// Group commit of new records (groupcommit.go).
	closing      sync.RWMutex
	creates      chan createReq
	writerDone   chan struct{}
	insertRecord *sql.Stmt  // prepared on the writer
	usage        *sql.Stmt  // prepared on the writer: a user's record_usage
	audit        auditStmts // prepared on the writer (audit.go)
	commits      atomic.Uint64
	committed    atomic.Uint64
	onCommit     atomic.Pointer[func(records int, d time.Duration)] // ObserveCommits

	failuresPurge periodic.Gate // login_failures past their window
	limitsPurge   periodic.Gate // rate_limits full again
}

// Open opens (creating if needed) the database at path and migrates its
// schema. A new file is made 0600; SQLite gives its -wal and -shm files the
// same mode.
func Open(ctx context.Context, path string) (*DB, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	dsn := func(extra string) string {
		q := url.Values{}
		for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(FULL)"} {
			q.Add("_pragma", p)
		}
		return "file:" + path + "?" + q.Encode() + extra
	}
	// The writer overwrites deleted content with zeros (secure_delete), so
	// a destroyed data key leaves no bytes behind in the pages it freed
	// (DestroyUserKey). Readers are query_only: they never free content.
	w, err := sql.Open("sqlite", dsn("&_txlock=immediate&_pragma=secure_delete(1)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	db := &DB{w: w}
	if err := db.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	// The readers keep SQLite's default page cache (cache_size -2000: 2000
	// KiB each, so at most 2 MiB × the pool below, plus the writer's) and
	// no memory map (mmap_size 0), whatever the file's size, as measured
	// at 100 000 users (a 1 GB file) for issue 16: in WAL mode a reader
	// drops its whole cache, and unmaps its whole map, when it starts a
	// read after any commit, and the audit trail commits many times a
	// second under reads. A larger cache would refill as often and hold
	// no more; a map (1 GiB, tried) cost a munmap and fresh page faults
	// per read, half of a record read's CPU in the profile, three times
	// the preads it saved. TestReaderCache pins both.
	r, err := sql.Open("sqlite", dsn("&_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(max(4, 2*runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(4, 2*runtime.GOMAXPROCS(0)))
	db.r = r
	// A record goes in only for a user that exists and is not being
	// deleted: DeleteUser deletes the records of such a user, and none can
	// come after.
	db.insertRecord, err = w.PrepareContext(ctx, `INSERT INTO sensitive_data (id, user_id, data_type, encrypted_value, created_at, updated_at)
		SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2 AND deleted_at IS NULL)`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	db.usage, err = w.PrepareContext(ctx, "SELECT records, bytes FROM record_usage WHERE user_id = ?")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	if db.audit, err = prepareAudit(ctx, w); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	db.startWriter()
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&db.record, "SELECT " + recordColumns + " FROM sensitive_data WHERE id = ? AND user_id = ?"},
		{&db.records, "SELECT " + recordColumns + " FROM sensitive_data WHERE user_id = ? ORDER BY created_at, id LIMIT ?"},
		{&db.recordsAfter, "SELECT " + recordColumns + " FROM sensitive_data WHERE user_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?"},
		{&db.cursors, "SELECT id, created_at FROM sensitive_data WHERE user_id = ? ORDER BY created_at, id LIMIT ?"},
		{&db.cursorsAfter, "SELECT id, created_at FROM sensitive_data WHERE user_id = ? AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?"},
		{&db.userKey, "SELECT wrapped_dek, kek_version FROM user_keys WHERE user_id = ?"},
		{&db.readUsage, "SELECT records, bytes FROM record_usage WHERE user_id = ?"},
	} {
		if *p.dst, err = r.PrepareContext(ctx, p.q); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	return db, nil
}

// indexed is the context for a hot read that an index answers in
// microseconds (a record, a user's records, a user's key): ctx's values
// without its cancellation. With a cancelable context the driver starts a
// goroutine to interrupt the statement and database/sql another to close
// its rows, for every query: a third of a record read's cost, to cut short
// a statement that ends long before either could matter. A context already
// done is still refused.
func indexed(ctx context.Context) (context.Context, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.stopWriter()
	var errs []error
	for _, st := range append([]*sql.Stmt{db.record, db.records, db.recordsAfter, db.cursors, db.cursorsAfter, db.userKey, db.readUsage, db.insertRecord, db.usage,
		db.audit.end, db.audit.head}, db.audit.insert[:]...) {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if db.r != nil {
		errs = append(errs, db.r.Close())
	}
	return errors.Join(append(errs, db.w.Close())...)
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return mapErr("ping", err)
	}
	return nil
}

// migrations are applied in order; PRAGMA user_version records how many ran.
var migrations = []string{`
CREATE TABLE users (
	id TEXT PRIMARY KEY,
	username TEXT NOT NULL UNIQUE,
	email TEXT NOT NULL UNIQUE,
	hashed_password TEXT NOT NULL,
	salt TEXT NOT NULL,
	failed_attempts INTEGER NOT NULL DEFAULT 0,
	last_failed_attempt_time INTEGER,
	totp_secret TEXT,
	two_factor_enabled INTEGER NOT NULL DEFAULT 0,
	is_admin INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE TABLE user_keys (
	user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	wrapped_dek TEXT NOT NULL,
	kek_version INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX user_keys_kek_version ON user_keys(kek_version, user_id);
CREATE TABLE sensitive_data (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	data_type TEXT NOT NULL,
	encrypted_value TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX sensitive_data_user_id ON sensitive_data(user_id, created_at, id);
CREATE TABLE otp_challenges (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose TEXT NOT NULL,
	code_hash TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	UNIQUE (user_id, purpose)
);
CREATE INDEX otp_challenges_expires_at ON otp_challenges(expires_at);
CREATE TABLE key_rotation (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	state TEXT NOT NULL,
	target_version INTEGER NOT NULL,
	rewrapped INTEGER NOT NULL,
	started_at INTEGER,
	updated_at INTEGER,
	finished_at INTEGER,
	lease_owner TEXT,
	lease_until INTEGER
);
`, `
ALTER TABLE users ADD COLUMN email_otp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NOT NULL DEFAULT 0;
UPDATE users SET email_otp_enabled = two_factor_enabled;
CREATE TABLE recovery_codes (
	code_hash TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE
);
CREATE INDEX recovery_codes_user_id ON recovery_codes(user_id);
`, `
ALTER TABLE users ADD COLUMN factors_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN otp_failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN otp_last_failed_attempt_time INTEGER;
ALTER TABLE otp_challenges ADD COLUMN lookup_hash TEXT;
CREATE UNIQUE INDEX otp_challenges_lookup_hash ON otp_challenges(lookup_hash);
CREATE TABLE login_failures (
	username TEXT PRIMARY KEY,
	failed_attempts INTEGER NOT NULL,
	last_failed_attempt_time INTEGER NOT NULL
);
CREATE INDEX login_failures_last ON login_failures(last_failed_attempt_time);
`, `
CREATE TABLE record_usage (
	user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	records INTEGER NOT NULL,
	bytes INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO record_usage (user_id, records, bytes)
	SELECT user_id, COUNT(*), SUM(LENGTH(encrypted_value)) FROM sensitive_data GROUP BY user_id;
CREATE TRIGGER sensitive_data_usage_insert AFTER INSERT ON sensitive_data BEGIN
	INSERT INTO record_usage (user_id, records, bytes) VALUES (NEW.user_id, 1, LENGTH(NEW.encrypted_value))
		ON CONFLICT (user_id) DO UPDATE SET records = records + 1, bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER sensitive_data_usage_update AFTER UPDATE OF encrypted_value ON sensitive_data BEGIN
	UPDATE record_usage SET bytes = bytes - LENGTH(OLD.encrypted_value) + LENGTH(NEW.encrypted_value) WHERE user_id = NEW.user_id;
END;
CREATE TRIGGER sensitive_data_usage_delete AFTER DELETE ON sensitive_data BEGIN
	UPDATE record_usage SET records = records - 1, bytes = bytes - LENGTH(OLD.encrypted_value) WHERE user_id = OLD.user_id;
END;
`, `
ALTER TABLE users ADD COLUMN sessions_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN deleted_at INTEGER;
CREATE INDEX users_deleted_at ON users(deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	client TEXT NOT NULL DEFAULT '',
	user_agent TEXT NOT NULL DEFAULT '',
	ended_at INTEGER,
	end_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions(user_id, created_at, id);
CREATE INDEX sessions_ended_at ON sessions(ended_at, id) WHERE ended_at IS NOT NULL;
CREATE INDEX sessions_expires_at ON sessions(expires_at);
CREATE TABLE first_account (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	user_id TEXT NOT NULL
);
INSERT INTO first_account (id, user_id) SELECT 1, id FROM users ORDER BY created_at, id LIMIT 1;
`, `
CREATE TABLE audit_events (
	seq INTEGER PRIMARY KEY,
	time INTEGER NOT NULL,
	type TEXT NOT NULL,
	outcome TEXT NOT NULL,
	user_id TEXT NOT NULL,
	target TEXT NOT NULL,
	client TEXT NOT NULL,
	request_id TEXT NOT NULL,
	prev BLOB NOT NULL,
	hash BLOB NOT NULL
);
CREATE INDEX audit_events_user_id ON audit_events(user_id, seq);
CREATE INDEX audit_events_type ON audit_events(type, seq);
CREATE INDEX audit_events_time ON audit_events(time);
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,
	hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
CREATE TABLE audit_start (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL,
	prev BLOB NOT NULL,
	mac BLOB NOT NULL
);
`, `
DROP INDEX audit_events_user_id;
CREATE TABLE audit_by_user (
	user_id TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
CREATE INDEX audit_by_user_seq ON audit_by_user(seq);
CREATE TABLE audit_indexed (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
);
INSERT INTO audit_by_user (user_id, seq) SELECT user_id, seq FROM audit_events WHERE user_id <> '';
INSERT INTO audit_indexed (id, seq) SELECT 1, COALESCE(MAX(seq), 0) FROM audit_events;
`, `
-- login_failures counts failed logins of names without an account under a
-- keyed hash of the name (otp.UnknownNameHash), no longer the name itself,
-- which may be a password typed into the wrong box. The counts kept by
-- name go; each lasted only the lockout window.
DELETE FROM login_failures;
`, `
-- Record reads, almost every event, are not in the per-type index: a list
-- of them, newest first, is the primary key read backwards; the other
-- types, rare among them, keep the index. An append of reads then writes
-- one index less per event.
DROP INDEX audit_events_type;
CREATE INDEX audit_events_type ON audit_events(type, seq) WHERE type <> 'record.read';
`, `
-- Rate-limit budgets shared by every server on the store: full is when a
-- budget is full again (Unix nanoseconds); a row past it is forgotten.
CREATE TABLE rate_limits (
	key TEXT PRIMARY KEY,
	full INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_limits_full ON rate_limits(full);
`, `
-- Passkeys (WebAuthn credentials): public keys only. credential_id is the
-- authenticator's id, unique across accounts; transports a comma list.
CREATE TABLE passkeys (
	id TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	credential_id BLOB NOT NULL UNIQUE,
	name TEXT NOT NULL,
	public_key BLOB NOT NULL,
	aaguid BLOB NOT NULL,
	sign_count INTEGER NOT NULL,
	backup_eligible INTEGER NOT NULL,
	backup_state INTEGER NOT NULL,
	transports TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	last_used_at INTEGER
);
CREATE INDEX passkeys_user_id ON passkeys(user_id, created_at, id);
-- Challenges of passkey ceremonies under way, by keyed hash; each taken once.
CREATE TABLE passkey_ceremonies (
	hash TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies(expires_at);
`}

// secureFrom is the first schema version made by a writer with
// secure_delete on: a database of an older one may hold deleted content (a
// data key's older wrappings, say) in its free space, so it is vacuumed
// before it is migrated past it. A crash before the migration commits
// vacuums again at the next start.
const secureFrom = 5

func (db *DB) migrate(ctx context.Context) error {
	var from int
	if err := db.w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&from); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if from > 0 && from < secureFrom {
		// Rewrite the file without its free space, then empty the log
		// that the rewrite went through. No reader is open yet.
		if _, err := db.w.ExecContext(ctx, "VACUUM"); err != nil {
			return fmt.Errorf("sqlite: migrate: vacuum: %w", err)
		}
		if err := db.checkpoint(ctx, checkpointAttempts); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
	}
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("sqlite: database schema v%d is newer than this program (v%d)", version, len(migrations))
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("sqlite: migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return tx.Commit()
}

// mapErr turns a driver error into the service's error kinds.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *strongroom.Error
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return strongroom.Unavailable("store unavailable", fmt.Errorf("sqlite: %s: %w", op, err))
	}
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			msg := le.Error()
			switch {
			case strings.Contains(msg, "users.username"):
				return strongroom.ErrUsernameTaken
			case strings.Contains(msg, "users.email"):
				return strongroom.ErrEmailTaken
			}
			return &strongroom.Error{Kind: strongroom.KindConflict, Message: "conflict", Err: fmt.Errorf("sqlite: %s: %w", op, err)}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
			return strongroom.Unavailable("store unavailable", fmt.Errorf("sqlite: %s: %w", op, err))
		}
	}
	return strongroom.Internal("sqlite: "+op, err)
}

func notFound(what string) error {
	return strongroom.Errorf(strongroom.KindNotFound, "%s not found", what)
}

// ms and fromMS store times as Unix milliseconds; a zero time is NULL.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
