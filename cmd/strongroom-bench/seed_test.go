package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/localkms"
	"github.com/strongroom/strongroom/sqlite"
)

// What seed writes is what the server reads: through the store, each
// user's data key unwraps with the keyring and opens the user's records,
// which hold the values seed sealed; the record counts the quota keeps
// agree; the first user alone is an administrator; and the database is
// left in WAL mode, as the server made it. 450 users: more than one
// multi-row INSERT and a last, shorter one.
func TestSeed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const n, r = 450, 3
	users, err := seed(ctx, dir, n, r)
	if err != nil {
		t.Fatal(err)
	}
	// Before the store opens it, which would set the mode itself.
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := raw.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v; want wal", mode, err)
	}
	raw.Close()
	db, err := sqlite.Open(ctx, filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	kms, err := localkms.Open(filepath.Join(dir, localkms.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 199, 200, 449} {
		id := users.userID(i)
		u, err := db.UserByUsername(ctx, users.name(i))
		if err != nil || u.ID != id || u.IsAdmin != (i == 0) {
			t.Fatalf("user %d: %+v, %v; want id %s, admin %v", i, u, err, id, i == 0)
		}
		w, err := db.UserKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := strongroom.UnwrapOne(ctx, kms, id, w)
		if err != nil {
			t.Fatalf("user %d: unwrap: %v", i, err)
		}
		key, err := envelope.KeyFromBytes(raw)
		if err != nil {
			t.Fatal(err)
		}
		for k := range r {
			rec, err := db.Record(ctx, id, users.recordID(i, k))
			if err != nil {
				t.Fatalf("user %d record %d: %v", i, k, err)
			}
			v, err := envelope.OpenRecord(key, envelope.RecordAAD(id, rec.ID, rec.DataType), rec.EncryptedValue)
			if want := fmt.Sprintf("4%015d", i*r+k); err != nil || string(v) != want {
				t.Errorf("user %d record %d: %q, %v; want %q", i, k, v, err, want)
			}
		}
		if got, err := db.RecordUsage(ctx, id); err != nil || got.Records != r {
			t.Errorf("user %d: usage %+v, %v; want %d records", i, got, err, r)
		}
	}
}
