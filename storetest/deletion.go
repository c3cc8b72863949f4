package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// testDestroyUserKey: the first step of a deletion hides the user, deletes
// the key, refuses new sessions and records, and keeps its first time.
func testDestroyUserKey(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, v, other := MustCreateUser(t, s, "leaving"), MustCreateUser(t, s, "leavingtoo"), MustCreateUser(t, s, "staying")
	mustCreate(t, s, newRecord(u, t0, 10))
	mustSession(t, s, newSession(u, t0))
	if list, err := s.UsersBeingDeleted(ctx, 10); err != nil || len(list) != 0 {
		t.Fatalf("UsersBeingDeleted before any deletion = %v, %v", list, err)
	}
	first := t0.Add(time.Hour)
	if err := s.DestroyUserKey(ctx, u.ID, first); err != nil {
		t.Fatal(err)
	}
	_, err := s.UserByID(ctx, u.ID)
	wantKind(t, err, strongroom.KindNotFound, "UserByID of a user being deleted")
	_, err = s.UserByUsername(ctx, u.Username)
	wantKind(t, err, strongroom.KindNotFound, "UserByUsername of a user being deleted")
	_, err = s.UserKey(ctx, u.ID)
	wantKind(t, err, strongroom.KindNotFound, "the destroyed key")
	list, err := s.UsersBeingDeleted(ctx, 10)
	if err != nil || len(list) != 1 || list[0].ID != u.ID || list[0].Username != u.Username || !list[0].DeletedAt.Equal(first) {
		t.Fatalf("UsersBeingDeleted = %+v, %v; want %s deleted at %v", list, err, u.ID, first)
	}
	if list[0].SessionsEpoch <= u.SessionsEpoch {
		t.Fatalf("DestroyUserKey left the epoch at %d", list[0].SessionsEpoch)
	}
	for _, epoch := range []int64{u.SessionsEpoch, list[0].SessionsEpoch} {
		wantSessionsEnded(t, s.CreateSession(ctx, newSession(u, first), epoch), fmt.Sprintf("a session at epoch %d of a user being deleted", epoch))
	}
	_, err = s.SetPassword(ctx, u.ID, "h", "s", "", list[0].SessionsEpoch, first)
	wantKind(t, err, strongroom.KindNotFound, "SetPassword of a user being deleted")
	late := newRecord(u, first, 10)
	wantKind(t, s.CreateRecord(ctx, late, strongroom.Quota{}), strongroom.KindNotFound, "a record of a user being deleted")
	wantKind(t, s.CreateRecord(ctx, newRecord(u, first, 10), strongroom.Quota{MaxRecords: 100}), strongroom.KindNotFound,
		"a record of a user being deleted, under a quota")
	_, err = s.Record(ctx, u.ID, late.ID)
	wantKind(t, err, strongroom.KindNotFound, "the refused record")

	// Again: done already, and the first time stays.
	if err := s.DestroyUserKey(ctx, u.ID, first.Add(time.Hour)); err != nil {
		t.Fatalf("DestroyUserKey again: %v", err)
	}
	// A later deletion that began at an earlier time is listed first.
	if err := s.DestroyUserKey(ctx, v.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err = s.UsersBeingDeleted(ctx, 10)
	if err != nil || len(list) != 2 || list[0].ID != v.ID || list[1].ID != u.ID || !list[1].DeletedAt.Equal(first) {
		t.Fatalf("UsersBeingDeleted = %+v, %v; want %s then %s, deleted at %v", list, err, v.ID, u.ID, first)
	}
	if list, err := s.UsersBeingDeleted(ctx, 1); err != nil || len(list) != 1 || list[0].ID != v.ID {
		t.Fatalf("UsersBeingDeleted with limit 1 = %+v, %v", list, err)
	}
	wantKind(t, s.DestroyUserKey(ctx, strongroom.NewID(t0), first), strongroom.KindNotFound, "DestroyUserKey of an unknown user")
	if _, err := s.UserKey(ctx, other.ID); err != nil {
		t.Fatalf("another user's key: %v", err)
	}
	if _, err := s.UserByID(ctx, other.ID); err != nil {
		t.Fatalf("another user: %v", err)
	}
}

// testDeleteUser: the last step deletes everything of a user being deleted
// but the ended sessions, after which the name and address are free again
// and their new owner sees nothing of the old.
func testDeleteUser(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "erased"), MustCreateUser(t, s, "kept")
	var recs []*strongroom.Record
	for i := range 3 {
		r := newRecord(u, t0.Add(time.Duration(i)*time.Second), 10)
		mustCreate(t, s, r)
		recs = append(recs, r)
	}
	mustCreate(t, s, newRecord(other, t0, 10))
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, []string{"rc1", "rc2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecoveryCodes(ctx, other.ID, []string{"rc3"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []strongroom.Purpose{strongroom.PurposeLogin, strongroom.PurposeEnroll, strongroom.PurposeUnlock} {
		if err := s.PutChallenge(ctx, newChallenge(u, p, "h", t0)); err != nil {
			t.Fatal(err)
		}
	}
	sess := mustSession(t, s, newSession(u, t0))

	_, err := s.DeleteUser(ctx, u.ID)
	wantKind(t, err, strongroom.KindConflict, "DeleteUser of a user not being deleted")
	if list, _ := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 100); len(list) != 3 {
		t.Fatalf("a refused DeleteUser left %d of 3 records", len(list))
	}
	_, err = s.DeleteUser(ctx, strongroom.NewID(t0))
	wantKind(t, err, strongroom.KindNotFound, "DeleteUser of an unknown user")

	now := t0.Add(time.Minute)
	if err := s.DestroyUserKey(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSessions(ctx, u.ID, "", strongroom.EndAccountDeleted, now); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeleteUser(ctx, u.ID)
	if err != nil || n != 3 {
		t.Fatalf("DeleteUser = %d, %v; want 3 records deleted", n, err)
	}
	if list, err := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 100); err != nil || len(list) != 0 {
		t.Fatalf("records after DeleteUser: %d, %v", len(list), err)
	}
	for _, r := range recs {
		_, err := s.Record(ctx, u.ID, r.ID)
		wantKind(t, err, strongroom.KindNotFound, "a record after DeleteUser")
	}
	wantUsage(t, s, u.ID, 0, 0, "after DeleteUser")
	wantKind(t, s.UseRecoveryCode(ctx, u.ID, "rc1"), strongroom.KindNotFound, "a recovery code after DeleteUser")
	for _, p := range []strongroom.Purpose{strongroom.PurposeLogin, strongroom.PurposeEnroll, strongroom.PurposeUnlock} {
		_, err := s.Challenge(ctx, u.ID, p, t0)
		wantKind(t, err, strongroom.KindNotFound, "a "+string(p)+" challenge after DeleteUser")
	}
	if list, err := s.UsersBeingDeleted(ctx, 10); err != nil || len(list) != 0 {
		t.Fatalf("UsersBeingDeleted after DeleteUser = %+v, %v", list, err)
	}
	_, err = s.DeleteUser(ctx, u.ID)
	wantKind(t, err, strongroom.KindNotFound, "DeleteUser again")
	wantKind(t, s.DestroyUserKey(ctx, u.ID, now), strongroom.KindNotFound, "DestroyUserKey of a deleted user")
	wantKind(t, s.CreateRecord(ctx, newRecord(u, now, 10), strongroom.Quota{}), strongroom.KindNotFound, "a record of a deleted user")
	wantKind(t, s.CreateRecord(ctx, newRecord(u, now, 10), strongroom.Quota{MaxRecords: 100}), strongroom.KindNotFound,
		"a record of a deleted user, under a quota")
	if list, _ := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 100); len(list) != 0 {
		t.Fatalf("a deleted user has %d records", len(list))
	}
	wantUsage(t, s, u.ID, 0, 0, "after refused records")
	refused := newSession(u, now)
	wantSessionsEnded(t, s.CreateSession(ctx, refused, 0), "a session of a deleted user")
	if ids := liveIDs(t, s, u.ID, now); len(ids) != 0 {
		t.Fatalf("a deleted user has live sessions %v", ids)
	}
	// The ended session stays, a tombstone until it expires. (The refused
	// one was not stored, or stored ended as superseded.)
	ended, err := s.EndedSessions(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	ended = slices.DeleteFunc(ended, func(x *strongroom.Session) bool {
		return x.ID == refused.ID && x.EndReason == strongroom.EndSuperseded
	})
	if !slices.Equal(sessionIDs(ended), []string{sess.ID}) {
		t.Fatalf("EndedSessions after DeleteUser = %v; want the tombstone %s", sessionIDs(ended), sess.ID)
	}
	// Others keep theirs.
	if list, _ := s.Records(ctx, other.ID, strongroom.RecordCursor{}, 100); len(list) != 1 {
		t.Fatalf("another user has %d of 1 records", len(list))
	}
	if err := s.UseRecoveryCode(ctx, other.ID, "rc3"); err != nil {
		t.Fatalf("another user's recovery code: %v", err)
	}

	// The name and the address are free, and their new owner sees nothing.
	again, key := NewUser("erased")
	if err := s.CreateUser(ctx, again, key, false); err != nil {
		t.Fatalf("registering the deleted user's name and email again: %v", err)
	}
	if got, err := s.UserByUsername(ctx, "erased"); err != nil || got.ID != again.ID || got.SessionsEpoch != 0 {
		t.Fatalf("the new erased = %+v, %v", got, err)
	}
	if list, err := s.Records(ctx, again.ID, strongroom.RecordCursor{}, 100); err != nil || len(list) != 0 {
		t.Fatalf("the new user sees %d records, %v", len(list), err)
	}
	for _, r := range recs {
		_, err := s.Record(ctx, again.ID, r.ID)
		wantKind(t, err, strongroom.KindNotFound, "an old record by the new user")
	}
	wantUsage(t, s, again.ID, 0, 0, "the new user")
	if ids := liveIDs(t, s, again.ID, now); len(ids) != 0 {
		t.Fatalf("the new user has sessions %v", ids)
	}
}

// testConcurrentRecordsAndDeletion: records created while the user is
// deleted either were made before and are deleted (and counted) by
// DeleteUser, or are refused; none is left behind.
func testConcurrentRecordsAndDeletion(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "doomed")
	for range 5 {
		mustCreate(t, s, newRecord(u, t0, 10))
	}
	// Writers create records until the store refuses them; the deletion
	// begins once a few are made.
	const writers, most = 8, 500
	var made, refused atomic.Int32
	made.Add(5)
	some := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := strongroom.Quota{}
			if w%2 == 0 {
				q.MaxRecords = 100000 // the quota's path through the counts
			}
			for range most {
				err := s.CreateRecord(ctx, newRecord(u, t0, 10), q)
				switch {
				case err == nil:
					if made.Add(1) == 5+2*writers {
						once.Do(func() { close(some) })
					}
				case strongroom.IsKind(err, strongroom.KindNotFound):
					refused.Add(1)
					return
				default:
					t.Errorf("CreateRecord: %v", err)
					return
				}
			}
			t.Errorf("%d records created, none refused", most)
		}()
	}
	go func() { // should every writer stop early, do not wait for ever
		wg.Wait()
		once.Do(func() { close(some) })
	}()
	<-some
	if err := s.DestroyUserKey(ctx, u.ID, t0); err != nil {
		t.Fatal(err)
	}
	deleted, err := s.DeleteUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if deleted != int(made.Load()) {
		t.Fatalf("DeleteUser deleted %d records, %d were made", deleted, made.Load())
	}
	if list, err := s.Records(ctx, u.ID, strongroom.RecordCursor{}, 1000); err != nil || len(list) != 0 {
		t.Fatalf("%d records left behind, %v", len(list), err)
	}
	wantUsage(t, s, u.ID, 0, 0, "after the deletion")
	t.Logf("%d records made before the deletion, %d writers refused after it", made.Load(), refused.Load())
}
