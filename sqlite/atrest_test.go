package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/storetest"
)

// distinct returns a string that occurs nowhere by chance.
func distinct(prefix string) string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// leftIn returns which of secrets occur in the database's files as they
// are now, the database still open (closing it would checkpoint and remove
// the log, hiding what a crash at this moment would leave).
func leftIn(t *testing.T, path string, secrets ...string) []string {
	t.Helper()
	var left []string
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				left = append(left, filepath.Base(f)+": "+s[:12]+"…")
			}
		}
	}
	return left
}

// A destroyed data key leaves no byte of any of its wrappings in the
// database file or its write-ahead log: not the current one, not the one a
// rotation replaced. Once the user is deleted, the records' encrypted
// values are gone too.
func TestDestroyedKeyLeavesNoBytes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := sqlite.Pragma(ctx, db, true, "secure_delete"); err != nil || v != 1 {
		t.Errorf("the writer's secure_delete = %d, %v", v, err)
	}
	if v, err := sqlite.Pragma(ctx, db, false, "query_only"); err != nil || v != 1 {
		t.Errorf("a reader's query_only = %d, %v", v, err)
	}
	u, _ := storetest.NewUser("shredded")
	// Wrappings of different lengths: one of the same length would be
	// overwritten in place, proving nothing about freed space.
	first, second := distinct("sr:v1:"), distinct("sr:v2:")+"0a0b"
	if err := db.CreateUser(ctx, u, strongroom.WrappedKey{Ciphertext: first, Version: 1}, false); err != nil {
		t.Fatal(err)
	}
	// Another key after it in the page, so the first wrapping's cell is
	// freed in the middle of the page rather than reused by the second.
	other := storetest.MustCreateUser(t, db, "bystander")
	if n, err := db.UpdateKeys(ctx, []strongroom.KeyUpdate{{UserID: u.ID, From: 1, To: strongroom.WrappedKey{Ciphertext: second, Version: 2}}}); err != nil || n != 1 {
		t.Fatalf("UpdateKeys = %d, %v", n, err)
	}
	var values []string
	now := time.Now()
	for range 5 {
		v := distinct("01")
		values = append(values, v)
		if err := db.CreateRecord(ctx, &strongroom.Record{ID: strongroom.NewID(now), UserID: u.ID, DataType: "note",
			EncryptedValue: v, CreatedAt: now, UpdatedAt: now}, strongroom.Quota{}); err != nil {
			t.Fatal(err)
		}
	}
	kept := distinct("02")
	if err := db.CreateRecord(ctx, &strongroom.Record{ID: strongroom.NewID(now), UserID: other.ID, DataType: "note",
		EncryptedValue: kept, CreatedAt: now, UpdatedAt: now}, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
	if left := leftIn(t, path, first, second); len(left) == 0 {
		t.Fatal("the keys are not in the files to begin with: the test proves nothing")
	}

	if err := db.DestroyUserKey(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if left := leftIn(t, path, first, second); len(left) != 0 {
		t.Fatalf("after DestroyUserKey the key's bytes are still in %v", left)
	}
	if n, err := db.DeleteUser(ctx, u.ID); err != nil || n != 5 {
		t.Fatalf("DeleteUser = %d, %v", n, err)
	}
	if left := leftIn(t, path, append(values, first, second)...); len(left) != 0 {
		t.Fatalf("after DeleteUser these are still in the files: %v", left)
	}
	if left := leftIn(t, path, kept); len(left) != 1 {
		t.Fatalf("another user's record is not in the files (%v): the search is wrong", left)
	}
}

// A reader that holds an old snapshot keeps the log from being truncated:
// DestroyUserKey then fails as unavailable (the key is deleted, but its
// bytes may still be in the log), and called again once the reader is
// done, it finishes.
func TestDestroyUserKeyWaitsForReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, _ := storetest.NewUser("waited")
	key := distinct("sr:v1:")
	if err := db.CreateUser(ctx, u, strongroom.WrappedKey{Ciphertext: key, Version: 1}, false); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM user_keys").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the reader's snapshot: %d keys, %v", n, err)
	}
	start := time.Now()
	err = db.DestroyUserKey(ctx, u.ID, start)
	if !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Fatalf("DestroyUserKey beside an old snapshot: %v, want unavailable", err)
	}
	t.Logf("gave up after %v", time.Since(start).Round(time.Millisecond))
	if _, err := db.UserKey(ctx, u.ID); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("the key after the interrupted DestroyUserKey: %v", err)
	}
	// Writes go on meanwhile.
	storetest.MustCreateUser(t, db, "meanwhile")
	// The reader finishes while a second call waits for it.
	go func() {
		time.Sleep(300 * time.Millisecond)
		tx.Rollback()
	}()
	if err := db.DestroyUserKey(ctx, u.ID, start.Add(time.Hour)); err != nil {
		t.Fatalf("DestroyUserKey again: %v", err)
	}
	if left := leftIn(t, path, key); len(left) != 0 {
		t.Fatalf("the key's bytes are still in %v", left)
	}
	list, err := db.UsersBeingDeleted(ctx, 10)
	if err != nil || len(list) != 1 || list[0].DeletedAt.UnixMilli() != start.UnixMilli() {
		t.Fatalf("UsersBeingDeleted = %+v, %v; want the first time kept", list, err)
	}
}

// A database from before secure_delete may hold a key's older wrapping in
// its free space; the migration that turns secure_delete on vacuums it
// away, so destroying the key then leaves no wrapping behind either.
func TestMigrationVacuumsOldFreeSpace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	const uid, uid2 = "65a000000000000000000001", "65a000000000000000000002"
	old, current := distinct("sr:v1:"), distinct("sr:v2:")+"0a0b" // not overwritten in place
	for _, q := range append(sqlite.Migrations[:4:4], "PRAGMA user_version = 4",
		`INSERT INTO users (id, username, email, hashed_password, salt, created_at) VALUES ('`+uid+`', 'old', 'old@example.com', 'h', 's', 0)`,
		`INSERT INTO user_keys VALUES ('`+uid+`', '`+old+`', 1, 0)`,
		`INSERT INTO users (id, username, email, hashed_password, salt, created_at) VALUES ('`+uid2+`', 'next', 'next@example.com', 'h', 's', 0)`,
		`INSERT INTO user_keys VALUES ('`+uid2+`', 'sr:v1:next', 1, 0)`, // after the first in the page, so its old cell is left as free space
		`UPDATE user_keys SET wrapped_dek = '`+current+`', kek_version = 2 WHERE user_id = '`+uid+`'`) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	if left := leftIn(t, path, old); len(left) == 0 {
		t.Fatal("the old wrapping is not in the file's free space to begin with: the test proves nothing")
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if left := leftIn(t, path, old); len(left) != 0 {
		t.Fatalf("after the migration the old wrapping is still in %v", left)
	}
	u, err := db.UserByID(ctx, uid)
	if err != nil || u.SessionsEpoch != 0 || !u.DeletedAt.IsZero() {
		t.Fatalf("a user from schema v4 reads back as %+v, %v", u, err)
	}
	if k, err := db.UserKey(ctx, uid); err != nil || k.Ciphertext != current {
		t.Fatalf("the key after the migration: %v", err)
	}
	if err := db.DestroyUserKey(ctx, uid, time.Now()); err != nil {
		t.Fatal(err)
	}
	if left := leftIn(t, path, old, current); len(left) != 0 {
		t.Fatalf("after DestroyUserKey these are still in %v", left)
	}
}

// TestReaderCache pins the readers' page cache (see Open): SQLite's
// default cache_size, 2000 KiB per connection, and no memory map.
func TestReaderCache(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []struct {
		name string
		want int64
	}{{"cache_size", -2000}, {"mmap_size", 0}} {
		if v, err := sqlite.Pragma(ctx, db, false, p.name); err != nil || v != p.want {
			t.Errorf("reader %s = %d, %v; want %d", p.name, v, err, p.want)
		}
	}
}
