package sqlite

import "context"

// SetAdmin sets the account's is_admin column; KindNotFound if no account
// has that username.
func (db *DB) SetAdmin(ctx context.Context, username string, admin bool) error {
	res, err := db.w.ExecContext(ctx, "UPDATE users SET is_admin = ? WHERE username = ?", admin, username)
	if err != nil {
		return mapErr("set admin", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return notFound("user")
	}
	return nil
}
