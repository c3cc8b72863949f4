package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// testConcurrentUserWrites: the writes to one user that run at once (a
// login's failure count, a second-factor change, a password change, an end
// of all sessions) do not undo one another: each one's change is kept.
func testConcurrentUserWrites(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "busyuser")
	p := strongroom.Lockout{MaxFailures: 1 << 20, Window: time.Hour}
	const n = 8
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { // an attacker's guesses
		defer wg.Done()
		for range 6 * n {
			if _, err := s.ClaimLoginAttempt(ctx, u.ID, t0, p); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			// From a fresh read of the epoch, again while an end of all
			// sessions overtakes it.
			for {
				cur, err := s.UserByID(ctx, u.ID)
				if err != nil {
					t.Error(err)
					return
				}
				_, err = s.SetPassword(ctx, u.ID, fmt.Sprintf("hash%d", i), fmt.Sprintf("salt%d", i), "", cur.SessionsEpoch, t0)
				if err == nil {
					break
				}
				if !errors.Is(err, strongroom.ErrSessionsEnded) {
					t.Error(err)
					return
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		for range n {
			if _, err := s.EndSessions(ctx, u.ID, "", strongroom.EndTwoFactorOff, t0); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			if err := s.SetSecondFactors(ctx, u.ID, int64(i), strongroom.SecondFactors{EmailOTP: i%2 == 0}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	last := fmt.Sprintf("%d", n-1)
	if got.HashedPassword != "hash"+last || got.Salt != "salt"+last {
		t.Errorf("the password is %q/%q after the last change to hash%s/salt%s", got.HashedPassword, got.Salt, last, last)
	}
	if got.SessionsEpoch < 2*n {
		t.Errorf("the sessions epoch is %d after %d moves", got.SessionsEpoch, 2*n)
	}
	if got.FactorsVersion != n || got.EmailOTPEnabled != ((n-1)%2 == 0) {
		t.Errorf("factors version %d (email %v) after %d changes", got.FactorsVersion, got.EmailOTPEnabled, n)
	}
	if got.FailedAttempts != 6*n {
		t.Errorf("%d failed attempts counted of %d", got.FailedAttempts, 6*n)
	}
}
