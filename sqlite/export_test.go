package sqlite

import "context"

// Migrations exposes the schema steps to the migration test.
var Migrations = migrations

// Pragma reads an integer pragma on the writer's connection or, if not
// writer, on a reader's.
func Pragma(ctx context.Context, db *DB, writer bool, name string) (int64, error) {
	pool := db.r
	if writer {
		pool = db.w
	}
	var v int64
	err := pool.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}

// SetAuditIndexEvery makes appends fill audit_by_user every n events, so
// tests cross the mark often; it returns the function that restores it.
func SetAuditIndexEvery(n int64) func() {
	old := auditIndexEvery
	auditIndexEvery = n
	return func() { auditIndexEvery = old }
}
