package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

func testKeys(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	var users []*strongroom.User
	for i := 0; i < 7; i++ {
		users = append(users, MustCreateUser(t, s, fmt.Sprintf("k%d", i)))
	}
	if n, err := s.CountKeysBelowVersion(ctx, 2); err != nil || n != 7 {
		t.Fatalf("CountKeysBelowVersion = %d, %v", n, err)
	}
	seen := map[string]bool{}
	for {
		batch, err := s.KeysBelowVersion(ctx, 2, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		if len(batch) > 3 {
			t.Fatalf("batch of %d, limit 3", len(batch))
		}
		var ups []strongroom.KeyUpdate
		for _, k := range batch {
			if seen[k.UserID] {
				t.Fatalf("key of %s returned twice", k.UserID)
			}
			seen[k.UserID] = true
			ups = append(ups, strongroom.KeyUpdate{UserID: k.UserID, From: k.Key.Version, To: strongroom.WrappedKey{Ciphertext: "sr:v2:" + k.UserID, Version: 2}})
		}
		// One stale update (From no longer matches) must be skipped.
		ups = append(ups, strongroom.KeyUpdate{UserID: users[0].ID, From: 0, To: strongroom.WrappedKey{Ciphertext: "stale", Version: 3}})
		n, err := s.UpdateKeys(ctx, ups)
		if err != nil || n != len(batch) {
			t.Fatalf("UpdateKeys = %d, %v; want %d", n, err, len(batch))
		}
	}
	if len(seen) != 7 {
		t.Fatalf("rewrapped %d keys, want 7", len(seen))
	}
	if n, _ := s.CountKeysBelowVersion(ctx, 2); n != 0 {
		t.Fatalf("%d keys left below v2", n)
	}
	if k, _ := s.UserKey(ctx, users[0].ID); k.Version != 2 || k.Ciphertext != "sr:v2:"+users[0].ID {
		t.Fatalf("UserKey after rewrap = %+v", k)
	}
}

func testRotationLease(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	if r, err := s.Rotation(ctx); err != nil || r.State != strongroom.RotationNone {
		t.Fatalf("fresh store rotation = %+v, %v", r, err)
	}
	if _, err := s.BeginRotation(ctx, "a", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := s.BeginRotation(ctx, "b", t0.Add(time.Second), time.Minute)
	wantKind(t, err, strongroom.KindConflict, "second owner while leased")
	r := strongroom.Rotation{State: strongroom.RotationRewrapping, TargetVersion: 2, Rewrapped: 10, StartedAt: t0, UpdatedAt: t0}
	if err := s.SaveRotation(ctx, "a", r, t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.SaveRotation(ctx, "b", r, t0, time.Minute), strongroom.KindConflict, "save without lease")
	// "a" crashes; once its lease expires "b" takes over and sees the progress.
	got, err := s.BeginRotation(ctx, "b", t0.Add(2*time.Minute), time.Minute)
	if err != nil || got.State != strongroom.RotationRewrapping || got.TargetVersion != 2 || got.Rewrapped != 10 || !got.StartedAt.Equal(t0) {
		t.Fatalf("takeover = %+v, %v", got, err)
	}
	wantKind(t, s.SaveRotation(ctx, "a", r, t0, time.Minute), strongroom.KindConflict, "old owner after takeover")
	// Once a rotation to v2 is recorded, no key under v1 may be stored.
	late, lateKey := NewUser("late")
	if err := s.CreateUser(ctx, late, lateKey, false); !errors.Is(err, strongroom.ErrStaleKey) {
		t.Fatalf("CreateUser with a v1 key during a rotation to v2: %v, want ErrStaleKey", err)
	}
	if _, err := s.UserByUsername(ctx, "late"); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("a refused user was stored: %v", err)
	}
	lateKey.Version = 2
	if err := s.CreateUser(ctx, late, lateKey, false); err != nil {
		t.Fatalf("CreateUser with a v2 key: %v", err)
	}
	r.State, r.FinishedAt, r.Rewrapped = strongroom.RotationDone, t0.Add(3*time.Minute), 20
	if err := s.SaveRotation(ctx, "b", r, t0.Add(3*time.Minute), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginRotation(ctx, "c", t0.Add(3*time.Minute), time.Minute); err != nil {
		t.Fatalf("lease not released when done: %v", err)
	}
	if got, _ := s.Rotation(ctx); got.State != strongroom.RotationDone || got.Rewrapped != 20 || !got.FinishedAt.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("Rotation = %+v", got)
	}
}

// testRotationResume: a rotation rewraps half the keys, its process dies,
// and a second process resumes from the stored progress and finishes.
func testRotationResume(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		MustCreateUser(t, s, fmt.Sprintf("r%02d", i))
	}
	rewrap := func(owner string, r *strongroom.Rotation, limit int, now time.Time) {
		t.Helper()
		batch, err := s.KeysBelowVersion(ctx, 2, limit)
		if err != nil {
			t.Fatal(err)
		}
		var ups []strongroom.KeyUpdate
		for _, k := range batch {
			ups = append(ups, strongroom.KeyUpdate{UserID: k.UserID, From: k.Key.Version, To: strongroom.WrappedKey{Ciphertext: "sr:v2:" + k.UserID, Version: 2}})
		}
		n, err := s.UpdateKeys(ctx, ups)
		if err != nil || n != len(batch) {
			t.Fatalf("UpdateKeys = %d, %v", n, err)
		}
		r.Rewrapped += n
		if err := s.SaveRotation(ctx, owner, *r, now, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// First process: starts, rewraps 4 of 10, dies.
	if _, err := s.BeginRotation(ctx, "first", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	r := strongroom.Rotation{State: strongroom.RotationRewrapping, TargetVersion: 2, StartedAt: t0}
	if err := s.SaveRotation(ctx, "first", r, t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	rewrap("first", &r, 4, t0)
	if n, _ := s.CountKeysBelowVersion(ctx, 2); n != 6 {
		t.Fatalf("%d keys left after the first process, want 6", n)
	}
	// Second process, after the lease lapsed: resumes where the first stopped.
	later := t0.Add(2 * time.Minute)
	got, err := s.BeginRotation(ctx, "second", later, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != strongroom.RotationRewrapping || got.TargetVersion != 2 || got.Rewrapped != 4 {
		t.Fatalf("resumed from %+v, want rewrapping to v2 with 4 done", got)
	}
	rewrap("second", &got, 100, later)
	if n, _ := s.CountKeysBelowVersion(ctx, 2); n != 0 || got.Rewrapped != 10 {
		t.Fatalf("after resume: %d keys left, %d rewrapped", n, got.Rewrapped)
	}
}
