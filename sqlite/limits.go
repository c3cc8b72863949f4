package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
)

// TakeLimit applies strongroom.Rate.Take to the budget's row in one
// statement: the upsert's WHERE refuses an event when none is left.
//
// A budget need not survive a power cut (one lost costs a client a few
// more tries, not a record), so the statement runs with synchronous=NORMAL:
// committed to the log without waiting for the disk, which is what lets a
// rate limit sit in front of every list and code check (an fsync per
// take measured 1.8 ms on this project's machine). The writer's next
// durable commit syncs it with its own.
func (db *DB) TakeLimit(ctx context.Context, key string, r strongroom.Rate, n int, now time.Time) (ok bool, _ time.Time, err error) {
	if db.limitsPurge.Due(now, time.Minute) {
		if _, err := db.w.ExecContext(ctx, "DELETE FROM rate_limits WHERE full < ?", now.UnixNano()); err != nil {
			return false, time.Time{}, mapErr("purge rate limits", err)
		}
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return false, time.Time{}, mapErr("take rate limit", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return false, time.Time{}, mapErr("take rate limit", err)
	}
	defer func() {
		// Every other write on this connection must be durable again: if
		// that cannot be set, the connection is dropped, not reused.
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			if err == nil {
				err = mapErr("take rate limit", rerr)
			}
		}
	}()
	n = min(max(n, 1), r.Burst) // as Rate.Take
	every := int64(r.Every)
	var full int64
	err = conn.QueryRowContext(ctx, `INSERT INTO rate_limits (key, full) VALUES (?1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET full = max(full, ?2) + ?3
		WHERE max(full, ?2) <= ?2 + ?4
		RETURNING full`, key, now.UnixNano(), int64(n)*every, int64(r.Burst-n)*every).Scan(&full)
	if err == nil {
		return true, time.Unix(0, full), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, time.Time{}, mapErr("take rate limit", err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT full FROM rate_limits WHERE key = ?", key).Scan(&full); err != nil {
		return false, time.Time{}, mapErr("take rate limit", err)
	}
	return false, time.Unix(0, full), nil
}
