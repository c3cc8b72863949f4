package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/strongroom/strongroom"
)

// testAdmins: of parallel first registrations on an empty store exactly
// one makes the admin; SetAdmin grants and revokes by username.
func testAdmins(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	var next atomic.Int32
	admins := parallel(8, func() bool {
		u, k := NewUser(fmt.Sprintf("racer%d", next.Add(1)))
		if err := s.CreateUser(ctx, u, k, true); err != nil {
			t.Errorf("CreateUser(%s): %v", u.Username, err)
			return false
		}
		return u.IsAdmin
	})
	stored := 0
	for i := 1; i <= 8; i++ {
		u, err := s.UserByUsername(ctx, fmt.Sprintf("racer%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if u.IsAdmin {
			stored++
		}
	}
	if admins != 1 || stored != 1 {
		t.Fatalf("8 parallel first registrations: %d told they are admin, %d stored as admin; want 1 and 1", admins, stored)
	}

	err := s.SetAdmin(ctx, "nobody", true)
	wantKind(t, err, strongroom.KindNotFound, "SetAdmin of an unknown user")
	MustCreateUser(t, s, "granted")
	for _, admin := range []bool{true, false, true} {
		if err := s.SetAdmin(ctx, "granted", admin); err != nil {
			t.Fatalf("SetAdmin(granted, %v): %v", admin, err)
		}
		got, err := s.UserByUsername(ctx, "granted")
		if err != nil || got.IsAdmin != admin {
			t.Fatalf("after SetAdmin(granted, %v): %+v, %v", admin, got, err)
		}
	}
}

// testNoAdminOnAFilledStore: a store that already holds an account, one
// not registered through Strongroom (so no first-admin claim was made),
// gets no admin from the next registration.
func testNoAdminOnAFilledStore(t *testing.T, s strongroom.Store) {
	MustCreateUser(t, s, "seeded") // as another program would, with no admin claim
	u, k := NewUser("newcomer")
	if err := s.CreateUser(context.Background(), u, k, true); err != nil {
		t.Fatal(err)
	}
	if u.IsAdmin {
		t.Fatal("the first registration on a store that already had an account became admin")
	}
	got, err := s.UserByUsername(context.Background(), "newcomer")
	if err != nil || got.IsAdmin {
		t.Fatalf("stored: %+v, %v; want not admin", got, err)
	}
}

// A store emptied by deleting every account is not a new store: the next
// registration does not make a stranger the administrator.
func testNoAdminAfterEveryAccountIsDeleted(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	first, k := NewUser("first")
	if err := s.CreateUser(ctx, first, k, true); err != nil || !first.IsAdmin {
		t.Fatalf("the first registration: admin %v, %v", first.IsAdmin, err)
	}
	if err := s.DestroyUserKey(ctx, first.ID, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteUser(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	u, k := NewUser("stranger")
	if err := s.CreateUser(ctx, u, k, true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.UserByUsername(ctx, "stranger"); u.IsAdmin || err != nil || got.IsAdmin {
		t.Fatalf("the first registration after every account was deleted became admin (%v, %v)", u.IsAdmin, err)
	}
}
