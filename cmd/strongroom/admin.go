package main

import (
	"context"
	"fmt"

	"github.com/strongroom/strongroom"
)

// Admin is the operator's command that grants or revokes an existing
// account's administrator role (AdminAction "grant" or "revoke"). It needs
// only the store, so it works while the server runs; the change applies to
// the account's next request.
func (m *Main) Admin(ctx context.Context) error {
	username := strongroom.NormalizeUsername(m.AdminUser)
	if err := strongroom.ValidateUsername(username); err != nil {
		return fmt.Errorf("admin %s: %w", m.AdminAction, err)
	}
	db, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	grant := m.AdminAction == "grant"
	if err := db.SetAdmin(ctx, username, grant); err != nil {
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return fmt.Errorf("admin %s: no account is named %q", m.AdminAction, username)
		}
		return fmt.Errorf("admin %s: %w", m.AdminAction, err)
	}
	if grant {
		fmt.Fprintf(m.Stdout, "%s is now an administrator\n", username)
	} else {
		fmt.Fprintf(m.Stdout, "%s is no longer an administrator\n", username)
	}
	return nil
}
