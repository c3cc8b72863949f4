package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// NewPasskey returns a passkey of u ready to store, its credential id
// made from name.
func NewPasskey(u *strongroom.User, name string, at time.Time) *strongroom.Passkey {
	return &strongroom.Passkey{ID: strongroom.NewID(at), UserID: u.ID, CredentialID: []byte("cred-" + name), Name: name,
		PublicKey: []byte{0xa5, 0x01, 0x02}, AAGUID: make([]byte, 16), SignCount: 7, BackupEligible: true,
		Transports: []string{"internal", "hybrid"}, CreatedAt: at}
}

// testPasskeys: passkeys are per user, a credential id is registered once
// across all accounts, a use moves the counter on, and a user's passkeys
// go with the user.
func testPasskeys(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	alice, bob := MustCreateUser(t, s, "alice"), MustCreateUser(t, s, "bob")
	if list, err := s.Passkeys(ctx, alice.ID); err != nil || len(list) != 0 {
		t.Fatalf("Passkeys of a new user = %v, %v", list, err)
	}
	a1, a2 := NewPasskey(alice, "laptop", t0), NewPasskey(alice, "phone", t0.Add(time.Second))
	for _, p := range []*strongroom.Passkey{a2, a1} { // stored out of order: listed oldest first
		if err := s.AddPasskey(ctx, p, strongroom.MaxPasskeys); err != nil {
			t.Fatal(err)
		}
	}
	taken := NewPasskey(bob, "laptop", t0) // alice's credential id, for bob
	if err := s.AddPasskey(ctx, taken, strongroom.MaxPasskeys); err != strongroom.ErrPasskeyTaken {
		t.Fatalf("AddPasskey of a stored credential id for another user: %v", err)
	}
	list, err := s.Passkeys(ctx, alice.ID)
	if err != nil || len(list) != 2 || !reflect.DeepEqual(list[0], a1) || !reflect.DeepEqual(list[1], a2) {
		t.Fatalf("Passkeys = %+v, %v; want %+v, %+v", list, err, a1, a2)
	}
	if list, err := s.Passkeys(ctx, bob.ID); err != nil || len(list) != 0 {
		t.Fatalf("bob has passkeys %v, %v", list, err)
	}
	got, err := s.PasskeyByCredential(ctx, []byte("cred-phone"))
	if err != nil || !reflect.DeepEqual(got, a2) {
		t.Fatalf("PasskeyByCredential = %+v, %v", got, err)
	}
	_, err = s.PasskeyByCredential(ctx, []byte("cred-none"))
	wantKind(t, err, strongroom.KindNotFound, "PasskeyByCredential of an unknown id")

	used := t0.Add(time.Hour)
	wantKind(t, s.UsePasskey(ctx, bob.ID, a1.ID, 7, 9, true, used), strongroom.KindNotFound, "UsePasskey of another user's passkey")
	if err := s.UsePasskey(ctx, alice.ID, a1.ID, 7, 9, true, used); err != nil {
		t.Fatal(err)
	}
	// A second use checked against the same counter (a clone's) is refused.
	if err := s.UsePasskey(ctx, alice.ID, a1.ID, 7, 8, true, used); err != strongroom.ErrPasskeyUsed {
		t.Fatalf("UsePasskey from a counter passed: %v", err)
	}
	got, err = s.PasskeyByCredential(ctx, a1.CredentialID)
	if err != nil || got.SignCount != 9 || !got.BackupState || !got.LastUsedAt.Equal(used) {
		t.Fatalf("after UsePasskey: %+v, %v", got, err)
	}

	wantKind(t, s.DeletePasskey(ctx, bob.ID, a1.ID), strongroom.KindNotFound, "DeletePasskey of another user's passkey")
	wantKind(t, s.DeletePasskey(ctx, alice.ID, strongroom.NewID(t0)), strongroom.KindNotFound, "DeletePasskey of an unknown id")
	if err := s.DeletePasskey(ctx, alice.ID, a1.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeletePasskey(ctx, alice.ID, a1.ID), strongroom.KindNotFound, "DeletePasskey twice")
	// Its credential id is free again.
	again := NewPasskey(bob, "laptop", t0)
	if err := s.AddPasskey(ctx, again, strongroom.MaxPasskeys); err != nil {
		t.Fatalf("AddPasskey of a deleted credential id: %v", err)
	}

	// The account's deletion takes its passkeys.
	if err := s.DestroyUserKey(ctx, alice.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.PasskeyByCredential(ctx, a2.CredentialID)
	wantKind(t, err, strongroom.KindNotFound, "a deleted user's passkey")
	if list, err := s.Passkeys(ctx, bob.ID); err != nil || len(list) != 1 {
		t.Fatalf("bob's passkeys after alice's deletion: %v, %v", list, err)
	}
}

// testCeremonies: a challenge is taken once, only while live, by one of
// many parallel callers.
func testCeremonies(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	if err := s.PutCeremony(ctx, "h1", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCeremony(ctx, "h2", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.TakeCeremony(ctx, "h3", t0), strongroom.KindNotFound, "TakeCeremony of an unknown hash")
	wantKind(t, s.TakeCeremony(ctx, "h1", t0.Add(time.Minute)), strongroom.KindNotFound, "TakeCeremony once expired")
	if err := s.TakeCeremony(ctx, "h2", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.TakeCeremony(ctx, "h2", t0.Add(time.Second)), strongroom.KindNotFound, "TakeCeremony twice")

	if err := s.PutCeremony(ctx, "race", t0, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var won atomic.Int32
	for range 8 {
		wg.Go(func() {
			err := s.TakeCeremony(ctx, "race", t0)
			switch {
			case err == nil:
				won.Add(1)
			case !strongroom.IsKind(err, strongroom.KindNotFound):
				t.Errorf("TakeCeremony: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d parallel TakeCeremony calls won, want 1", won.Load())
	}
}

// testPasskeyLimits: parallel adds stop at the limit, and of parallel
// uses checked against one counter value exactly one is recorded.
func testPasskeyLimits(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "alice")
	const max = 3
	var wg sync.WaitGroup
	var added, refused atomic.Int32
	for i := range 8 {
		wg.Go(func() {
			p := NewPasskey(u, fmt.Sprintf("key%d", i), t0.Add(time.Duration(i)*time.Second))
			switch err := s.AddPasskey(ctx, p, max); {
			case err == nil:
				added.Add(1)
			case err == strongroom.ErrPasskeyLimit:
				refused.Add(1)
			default:
				t.Errorf("AddPasskey: %v", err)
			}
		})
	}
	wg.Wait()
	list, err := s.Passkeys(ctx, u.ID)
	if err != nil || added.Load() != max || refused.Load() != 8-max || len(list) != max {
		t.Fatalf("%d added, %d refused, %d stored (%v), want %d stored", added.Load(), refused.Load(), len(list), err, max)
	}
	var won atomic.Int32
	for range 8 {
		wg.Go(func() {
			switch err := s.UsePasskey(ctx, u.ID, list[0].ID, 7, 8, false, t0); {
			case err == nil:
				won.Add(1)
			case err != strongroom.ErrPasskeyUsed:
				t.Errorf("UsePasskey: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d parallel uses from one counter value recorded, want 1", won.Load())
	}
}
