package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

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

// Concurrent creates share commits (one fsync each), a record that cannot
// be inserted fails alone, and the others in its batch are kept.
func TestGroupCommitBatches(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := storetest.MustCreateUser(t, db, "batcher")
	// The observer is told of each commit: its counts add up to the
	// store's own.
	var seen struct {
		sync.Mutex
		commits, records int
	}
	db.ObserveCommits(func(records int, d time.Duration) {
		seen.Lock()
		defer seen.Unlock()
		if d <= 0 {
			t.Errorf("commit of %d records took %v", records, d)
		}
		seen.commits++
		seen.records += records
	})
	now := time.Now()
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := u.ID
			if i%50 == 7 {
				owner = strongroom.NewID(now) // no such user: the foreign key refuses it
			}
			errs[i] = db.CreateRecord(ctx, &strongroom.Record{ID: strongroom.NewID(now), UserID: owner, DataType: "x",
				EncryptedValue: "01", CreatedAt: now, UpdatedAt: now}, strongroom.Quota{})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%50 == 7) != (err != nil) {
			t.Errorf("create %d: %v", i, err)
		}
	}
	list, err := db.Records(ctx, u.ID, strongroom.RecordCursor{}, 1000)
	if err != nil || len(list) != n-4 {
		t.Fatalf("%d records kept, want %d (%v)", len(list), n-4, err)
	}
	st := db.GroupCommits()
	if st.Records != n-4 || st.Commits > n/4 {
		t.Fatalf("%d records in %d commits: want %d records, in at most %d commits", st.Records, st.Commits, n-4, n/4)
	}
	seen.Lock()
	defer seen.Unlock()
	if uint64(seen.commits) != st.Commits || uint64(seen.records) != st.Records {
		t.Fatalf("observer saw %d records in %d commits; the store counted %d in %d", seen.records, seen.commits, st.Records, st.Commits)
	}
}

// The hot reads run without the request's cancellation, but a request that
// is already over is still refused rather than answered.
func TestHotReadsRefuseEndedContext(t *testing.T) {
	ctx := context.Background()
	db := open(t)
	u := storetest.MustCreateUser(t, db, "ended")
	now := time.Now()
	r := &strongroom.Record{ID: strongroom.NewID(now), UserID: u.ID, DataType: "x", EncryptedValue: "01", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateRecord(ctx, r, strongroom.Quota{}); err != nil {
		t.Fatal(err)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := db.Record(ended, u.ID, r.ID); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Errorf("Record = %v, %v; want unavailable", got, err)
	}
	if got, err := db.Records(ended, u.ID, strongroom.RecordCursor{}, 10); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Errorf("Records = %v, %v; want unavailable", got, err)
	}
	if _, err := db.UserKey(ended, u.ID); !strongroom.IsKind(err, strongroom.KindUnavailable) {
		t.Errorf("UserKey: %v; want unavailable", err)
	}
	if got, err := db.Record(ctx, u.ID, r.ID); err != nil || got.ID != r.ID {
		t.Fatalf("Record with a live context = %v, %v", got, err)
	}
}

// Records stored before quotas existed are counted when the schema that
// keeps the counts is added.
func TestMigrationCountsExistingRecords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	const uid = "65a000000000000000000001"
	for _, q := range []string{sqlite.Migrations[0], sqlite.Migrations[1], "PRAGMA user_version = 2",
		`INSERT INTO users (id, username, email, hashed_password, salt, created_at) VALUES ('` + uid + `', 'old', 'old@example.com', 'h', 's', 0)`,
		`INSERT INTO sensitive_data VALUES ('65a000000000000000000002', '` + uid + `', 'x', 'abcd', 0, 0)`,
		`INSERT INTO sensitive_data VALUES ('65a000000000000000000003', '` + uid + `', 'x', 'abcdef', 1, 1)`} {
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
	if u, err := db.RecordUsage(ctx, uid); err != nil || u != (strongroom.Usage{Records: 2, Bytes: 10}) {
		t.Fatalf("usage after migration: %+v, %v; want 2 records, 10 bytes", u, err)
	}
}

// TestRateLimitFormat pins a budget's stored form: the limit's name and
// key, and the time it is full again in Unix nanoseconds.
func TestRateLimitFormat(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	if ok, _, err := db.TakeLimit(ctx, "verify-addr:192.0.2.1", strongroom.Rate{Every: 2 * time.Second, Burst: 30}, 1, at); err != nil || !ok {
		t.Fatalf("TakeLimit: %v %v", ok, err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var key string
	var full int64
	if err := raw.QueryRow("SELECT key, full FROM rate_limits").Scan(&key, &full); err != nil {
		t.Fatal(err)
	}
	if key != "verify-addr:192.0.2.1" || full != 1795834802000000000 {
		t.Fatalf("stored %q %d", key, full)
	}
}

// TestPasskeyFormat pins a passkey's stored form: public material only, as
// bytes; transports a comma list; times in Unix milliseconds.
func TestPasskeyFormat(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), sqlite.FileName)
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u := storetest.MustCreateUser(t, db, "alice")
	at := time.Date(2026, 11, 28, 3, 0, 0, 0, time.UTC)
	p := storetest.NewPasskey(u, "laptop", at)
	p.ID = "6927f4f0c1a2b3c4d5e6f701"
	if err := db.AddPasskey(ctx, p, strongroom.MaxPasskeys); err != nil {
		t.Fatal(err)
	}
	if err := db.UsePasskey(ctx, u.ID, p.ID, 7, 8, true, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var id, user, name, transports string
	var cred, pub, aaguid []byte
	var count, be, bs, created, used int64
	if err := raw.QueryRow(`SELECT id, user_id, credential_id, name, public_key, aaguid, sign_count, backup_eligible, backup_state,
		transports, created_at, last_used_at FROM passkeys`).Scan(&id, &user, &cred, &name, &pub, &aaguid, &count, &be, &bs,
		&transports, &created, &used); err != nil {
		t.Fatal(err)
	}
	if id != p.ID || user != u.ID || string(cred) != "cred-laptop" || name != "laptop" || string(pub) != "\xa5\x01\x02" ||
		len(aaguid) != 16 || count != 8 || be != 1 || bs != 1 || transports != "internal,hybrid" ||
		created != 1795834800000 || used != 1795834860000 {
		t.Fatalf("stored %q %q %q %q %x %x %d %d %d %q %d %d", id, user, cred, name, pub, aaguid, count, be, bs, transports, created, used)
	}
}
