package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// An unknown name locks exactly like an account: five failures, then
// KindLocked with the same Retry-After, then a fresh count after the window.
func testUnknownNameLockout(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	known := MustCreateUser(t, s, "known")
	p := strongroom.Lockout{MaxFailures: 5, Window: 15 * time.Minute}
	for i := 1; i <= 5; i++ {
		if err := s.ClaimUnknownLoginAttempt(ctx, "ghost", t0, p); err != nil {
			t.Fatalf("attempt %d for an unknown name refused: %v", i, err)
		}
		if _, err := s.ClaimLoginAttempt(ctx, known.ID, t0, p); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(time.Minute)
	errGhost := s.ClaimUnknownLoginAttempt(ctx, "ghost", at, p)
	_, errKnown := s.ClaimLoginAttempt(ctx, known.ID, at, p)
	wantKind(t, errGhost, strongroom.KindLocked, "sixth attempt, unknown name")
	var eg, ek *strongroom.Error
	if !errors.As(errGhost, &eg) || !errors.As(errKnown, &ek) || eg.RetryAfter != ek.RetryAfter || eg.RetryAfter != 14*time.Minute {
		t.Fatalf("Retry-After: unknown %v, known %v; want both 14m", eg, ek)
	}
	// Another name is not locked by the first one's failures.
	if err := s.ClaimUnknownLoginAttempt(ctx, "phantom", at, p); err != nil {
		t.Fatalf("another unknown name is locked: %v", err)
	}
	// A count past its window starts again whether or not a purge has
	// dropped it yet (the one this call may make keeps ghost's count).
	if err := s.ClaimUnknownLoginAttempt(ctx, "spectre", t0.Add(15*time.Minute-time.Second), p); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimUnknownLoginAttempt(ctx, "ghost", t0.Add(15*time.Minute+time.Second), p); err != nil {
		t.Fatalf("an unknown name still locked after the window: %v", err)
	}
	// Parallel guesses do not exceed the limit either.
	if won := parallel(30, func() bool { return s.ClaimUnknownLoginAttempt(ctx, "swarm", t0, p) == nil }); won != 5 {
		t.Fatalf("%d of 30 parallel attempts for an unknown name were admitted, want 5", won)
	}
}

// Failed second factors are counted until a success: ten lock the second
// step for the window, and after it each further failure locks again.
func testSecondFactorLockout(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "twostep")
	p := strongroom.Lockout{MaxFailures: 10, Window: 15 * time.Minute}
	for i := 1; i <= 10; i++ {
		n, err := s.ClaimSecondFactorAttempt(ctx, u.ID, t0, p)
		if err != nil || n != i {
			t.Fatalf("attempt %d: count %d, %v", i, n, err)
		}
	}
	_, err := s.ClaimSecondFactorAttempt(ctx, u.ID, t0.Add(time.Minute), p)
	wantKind(t, err, strongroom.KindLocked, "eleventh attempt")
	if got, _ := s.UserByID(ctx, u.ID); got.SecondFactorFailures != 10 || !got.LastSecondFactorFailure.Equal(t0) || got.FailedAttempts != 0 {
		t.Fatalf("stored count %d at %v (login count %d)", got.SecondFactorFailures, got.LastSecondFactorFailure, got.FailedAttempts)
	}
	after := t0.Add(15*time.Minute + time.Second)
	if n, err := s.ClaimSecondFactorAttempt(ctx, u.ID, after, p); err != nil || n != 11 {
		t.Fatalf("after the window: count %d, %v; want 11 (time does not forget)", n, err)
	}
	_, err = s.ClaimSecondFactorAttempt(ctx, u.ID, after, p)
	wantKind(t, err, strongroom.KindLocked, "a failure after the window locks again")
	if err := s.ResetSecondFactorFailures(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ClaimSecondFactorAttempt(ctx, u.ID, after, p); err != nil || n != 1 {
		t.Fatalf("after a reset: count %d, %v; want 1", n, err)
	}
	_, err = s.ClaimSecondFactorAttempt(ctx, strongroom.NewID(t0), t0, p)
	wantKind(t, err, strongroom.KindNotFound, "unknown user")
}

func testConcurrentSecondFactorLockout(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "twostepracer")
	p := strongroom.Lockout{MaxFailures: 10, Window: 15 * time.Minute}
	won := parallel(40, func() bool {
		_, err := s.ClaimSecondFactorAttempt(ctx, u.ID, t0, p)
		if err != nil && !strongroom.IsKind(err, strongroom.KindLocked) {
			t.Error(err)
		}
		return err == nil
	})
	if won != 10 {
		t.Fatalf("%d of 40 parallel second-factor attempts were admitted, want 10", won)
	}
}

// A challenge is found by its lookup hash while it lives, and a challenge
// stored again under the same lookup (a re-sent code) replaces the old one.
func testChallengeLookup(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "lookup")
	c := newChallenge(u, strongroom.PurposeLogin, "h1", t0)
	c.LookupHash = "look1"
	if err := s.PutChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	enroll := newChallenge(u, strongroom.PurposeEnroll, "he", t0) // no lookup hash
	if err := s.PutChallenge(ctx, enroll); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChallengeByLookup(ctx, "look1", t0.Add(time.Minute))
	if err != nil || got.ID != c.ID || got.UserID != u.ID || got.Purpose != strongroom.PurposeLogin || got.LookupHash != "look1" || got.CodeHash != "h1" {
		t.Fatalf("ChallengeByLookup = %+v, %v", got, err)
	}
	if got, err := s.Challenge(ctx, u.ID, strongroom.PurposeEnroll, t0); err != nil || got.LookupHash != "" {
		t.Fatalf("a challenge without a lookup hash reads back as %+v, %v", got, err)
	}
	for _, h := range []string{"", "look2", "none:" + enroll.ID} {
		_, err := s.ChallengeByLookup(ctx, h, t0)
		wantKind(t, err, strongroom.KindNotFound, "lookup "+h)
	}
	_, err = s.ChallengeByLookup(ctx, "look1", c.ExpiresAt)
	wantKind(t, err, strongroom.KindNotFound, "expired challenge")

	again := newChallenge(u, strongroom.PurposeLogin, "h2", t0.Add(time.Second))
	again.LookupHash, again.Attempts, again.ExpiresAt = "look1", 3, c.ExpiresAt
	if err := s.PutChallenge(ctx, again); err != nil {
		t.Fatal(err)
	}
	got, err = s.ChallengeByLookup(ctx, "look1", t0.Add(time.Minute))
	if err != nil || got.ID != again.ID || got.CodeHash != "h2" || got.Attempts != 3 || !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("after the re-send: %+v, %v", got, err)
	}
	wantKind(t, s.ClaimChallengeAttempt(ctx, c.ID, t0, 5), strongroom.KindNotFound, "the replaced challenge")
	// A re-sent code changes the code only, and only while the challenge
	// lives: a consumed one does not come back.
	if err := s.SetChallengeCode(ctx, again.ID, "h3"); err != nil {
		t.Fatal(err)
	}
	got, err = s.ChallengeByLookup(ctx, "look1", t0.Add(time.Minute))
	if err != nil || got.ID != again.ID || got.CodeHash != "h3" || got.Attempts != 3 || !got.ExpiresAt.Equal(c.ExpiresAt) {
		t.Fatalf("after SetChallengeCode: %+v, %v", got, err)
	}
	if err := s.ConsumeChallenge(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.SetChallengeCode(ctx, again.ID, "h4"), strongroom.KindNotFound, "a new code for a consumed challenge")
	_, err = s.ChallengeByLookup(ctx, "look1", t0)
	wantKind(t, err, strongroom.KindNotFound, "consumed challenge")
}

// Of parallel changes made from one read, exactly one is applied.
func testConcurrentFactorChanges(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "factors")
	won := parallel(20, func() bool {
		err := s.SetSecondFactors(ctx, u.ID, 0, strongroom.SecondFactors{EmailOTP: true})
		if err != nil && !errors.Is(err, strongroom.ErrFactorsChanged) {
			t.Error(err)
		}
		return err == nil
	})
	if won != 1 {
		t.Fatalf("%d of 20 parallel changes from one read were applied, want 1", won)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.FactorsVersion != 1 || !got.EmailOTPEnabled {
		t.Fatalf("factors %+v at version %d", got.SecondFactors(), got.FactorsVersion)
	}
}
