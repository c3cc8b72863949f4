package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/storetest"
)

func open(t *testing.T) strongroom.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	u := storetest.MustCreateUser(t, db, "keeper")
	db.Close()
	db, err = sqlite.Open(ctx, path) // migrations must be idempotent
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, err := db.UserByID(ctx, u.ID); err != nil || got.Username != "keeper" {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
}

// A database made by the first schema keeps its users, and an account with
// two_factor_enabled keeps email as its second factor.
func TestMigrationFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{sqlite.Migrations[0], "PRAGMA user_version = 1",
		`INSERT INTO users (id, username, email, hashed_password, salt, two_factor_enabled, created_at)
		 VALUES ('65a000000000000000000001', 'old', 'old@example.com', 'h', 's', 1, 0)`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.UserByUsername(ctx, "old")
	if err != nil || !u.TwoFactorEnabled || !u.EmailOTPEnabled || u.TOTPEnabled {
		t.Fatalf("migrated user %+v, %v", u, err)
	}
}
