package sqlite_test

import (
	"context"
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
