package revocation

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/internal/testclock"
	"github.com/strongroom/strongroom/sqlite"
	"github.com/strongroom/strongroom/storetest"
)

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newSession(t *testing.T, db strongroom.Store, u *strongroom.User, id string, now time.Time) {
	t.Helper()
	s := &strongroom.Session{ID: id, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(context.Background(), s, u.SessionsEpoch); err != nil {
		t.Fatal(err)
	}
}

// The list learns what another replica ended from the store, once.
func TestSyncSeesEndsFromTheStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	clk := testclock.New(time.Now())
	u := storetest.MustCreateUser(t, db, "alice")
	for _, id := range []string{"s1", "s2", "s3"} {
		newSession(t, db, u, id, clk.Now())
	}
	var seen []string
	l := New(db, clk.Now, func(s *strongroom.Session) { seen = append(seen, s.ID) })
	if l.Fresh() {
		t.Fatal("a list never synced is fresh")
	}
	if err := l.Sync(ctx); err != nil || !l.Fresh() || l.Ended("s1") {
		t.Fatalf("after the first sync: err %v, fresh %v, s1 ended %v", err, l.Fresh(), l.Ended("s1"))
	}
	if _, err := db.EndSession(ctx, u.ID, "s1", strongroom.EndLogout, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if l.Ended("s1") {
		t.Fatal("the list knew before it synced")
	}
	for range 2 {
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if !l.Ended("s1") || l.Ended("s2") || len(seen) != 1 || seen[0] != "s1" {
		t.Fatalf("after the end: s1 %v, s2 %v, seen %v", l.Ended("s1"), l.Ended("s2"), seen)
	}
	// An end stamped by a replica whose clock is 20 s behind, written
	// after the newest end the list has seen, is still found.
	clk.Add(time.Minute)
	if _, err := db.EndSession(ctx, u.ID, "s2", strongroom.EndRevoked, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EndSession(ctx, u.ID, "s3", strongroom.EndRevoked, clk.Now().Add(-20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Ended("s2") || !l.Ended("s3") {
		t.Fatalf("s2 ended %v, s3 (clock behind) ended %v", l.Ended("s2"), l.Ended("s3"))
	}
	// Sessions whose tokens have expired are forgotten.
	clk.Add(2 * time.Hour)
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 0 {
		t.Fatalf("%d expired sessions kept", l.Len())
	}
}

// A list whose store stops answering goes stale and says so.
func TestStaleWithoutTheStore(t *testing.T) {
	ctx := context.Background()
	db := openStore(t)
	l := New(db, nil, nil)
	l.maxStale = 100 * time.Millisecond
	if err := l.Sync(ctx); err != nil || !l.Fresh() {
		t.Fatalf("sync: %v, fresh %v", err, l.Fresh())
	}
	db.Close()
	if err := l.Sync(ctx); err == nil {
		t.Fatal("a sync of a closed store succeeded")
	}
	time.Sleep(150 * time.Millisecond)
	if l.Fresh() {
		t.Fatal("a list not synced for longer than its bound is fresh")
	}
}

// A local end counts at once.
func TestAdd(t *testing.T) {
	l := New(openStore(t), nil, nil)
	l.Add(&strongroom.Session{ID: "x", ExpiresAt: time.Now().Add(time.Hour)})
	if !l.Ended("x") || l.Ended("y") {
		t.Fatal("Add")
	}
}
