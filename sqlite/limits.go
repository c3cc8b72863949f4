package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/strongroom/strongroom"
)

// TakeLimit applies strongroom.Rate.Take to the budget's row in one
// statement: the upsert's WHERE refuses an event when none is left.
func (db *DB) TakeLimit(ctx context.Context, key string, r strongroom.Rate, n int, now time.Time) (bool, time.Duration, error) {
	if db.limitsPurge.Due(now, time.Minute) {
		if _, err := db.w.ExecContext(ctx, "DELETE FROM rate_limits WHERE full < ?", now.UnixNano()); err != nil {
			return false, 0, mapErr("purge rate limits", err)
		}
	}
	n = min(max(n, 1), r.Burst) // as Rate.Take
	every := int64(r.Every)
	var full int64
	err := db.w.QueryRowContext(ctx, `INSERT INTO rate_limits (key, full) VALUES (?1, ?2 + ?3)
		ON CONFLICT (key) DO UPDATE SET full = max(full, ?2) + ?3
		WHERE max(full, ?2) <= ?2 + ?4
		RETURNING full`, key, now.UnixNano(), int64(n)*every, int64(r.Burst-n)*every).Scan(&full)
	if err == nil {
		return true, 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, 0, mapErr("take rate limit", err)
	}
	if err := db.w.QueryRowContext(ctx, "SELECT full FROM rate_limits WHERE key = ?", key).Scan(&full); err != nil {
		return false, 0, mapErr("take rate limit", err)
	}
	_, _, wait := r.Take(time.Unix(0, full), now, n)
	return false, wait, nil
}
