package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

func newChallenge(u *strongroom.User, p strongroom.Purpose, hash string, now time.Time) *strongroom.Challenge {
	return &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: p, CodeHash: hash, CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}
}

func testChallenges(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "otpuser")
	c1 := newChallenge(u, strongroom.PurposeLogin, "h1", t0)
	if err := s.PutChallenge(ctx, c1); err != nil {
		t.Fatal(err)
	}
	enroll := newChallenge(u, strongroom.PurposeEnroll, "he", t0)
	if err := s.PutChallenge(ctx, enroll); err != nil {
		t.Fatal(err)
	}
	c2 := newChallenge(u, strongroom.PurposeLogin, "h2", t0.Add(time.Second))
	if err := s.PutChallenge(ctx, c2); err != nil {
		t.Fatal(err)
	}
	got, err := s.Challenge(ctx, u.ID, strongroom.PurposeLogin, t0.Add(2*time.Second))
	if err != nil || got.ID != c2.ID || got.CodeHash != "h2" || got.Attempts != 0 || !got.ExpiresAt.Equal(c2.ExpiresAt) {
		t.Fatalf("Challenge = %+v, %v; want the replacement", got, err)
	}
	if got, err := s.Challenge(ctx, u.ID, strongroom.PurposeEnroll, t0); err != nil || got.ID != enroll.ID {
		t.Fatalf("the other purpose's challenge was replaced: %v", err)
	}
	wantKind(t, s.ClaimChallengeAttempt(ctx, c1.ID, t0, 5), strongroom.KindNotFound, "claim on replaced challenge")
	for i := 0; i < 5; i++ {
		if err := s.ClaimChallengeAttempt(ctx, c2.ID, t0.Add(time.Minute), 5); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	wantKind(t, s.ClaimChallengeAttempt(ctx, c2.ID, t0.Add(time.Minute), 5), strongroom.KindNotFound, "sixth try")
	_, err = s.Challenge(ctx, u.ID, strongroom.PurposeEnroll, t0.Add(5*time.Minute+time.Second))
	wantKind(t, err, strongroom.KindNotFound, "expired challenge")
	wantKind(t, s.ClaimChallengeAttempt(ctx, enroll.ID, t0.Add(6*time.Minute), 5), strongroom.KindNotFound, "claim on expired")
	if err := s.ConsumeChallenge(ctx, enroll.ID); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.ConsumeChallenge(ctx, enroll.ID), strongroom.KindNotFound, "second consume")
}

func testConcurrentConsume(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "twice")
	c := newChallenge(u, strongroom.PurposeLogin, "h", t0)
	if err := s.PutChallenge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if won := parallel(20, func() bool { return s.ConsumeChallenge(ctx, c.ID) == nil }); won != 1 {
		t.Fatalf("%d parallel consumes succeeded, want 1", won)
	}
}

func testTOTPSteps(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "totp")
	if err := s.UseTOTPStep(ctx, u.ID, 100); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseTOTPStep(ctx, u.ID, 100), strongroom.KindConflict, "the same step again")
	wantKind(t, s.UseTOTPStep(ctx, u.ID, 99), strongroom.KindConflict, "an older step")
	if won := parallel(20, func() bool { return s.UseTOTPStep(ctx, u.ID, 101) == nil }); won != 1 {
		t.Fatalf("%d parallel uses of one step succeeded, want 1", won)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.TOTPLastStep != 101 {
		t.Fatalf("last step %d, want 101", got.TOTPLastStep)
	}
}

func testRecoveryCodes(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u, other := MustCreateUser(t, s, "recover"), MustCreateUser(t, s, "other")
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, []string{"h1", "h2", "h3"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseRecoveryCode(ctx, other.ID, "h1"), strongroom.KindNotFound, "another user's code")
	if err := s.UseRecoveryCode(ctx, u.ID, "h1"); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseRecoveryCode(ctx, u.ID, "h1"), strongroom.KindNotFound, "a used code")
	if won := parallel(10, func() bool { return s.UseRecoveryCode(ctx, u.ID, "h2") == nil }); won != 1 {
		t.Fatalf("%d parallel uses of one code succeeded, want 1", won)
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, []string{"h4"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseRecoveryCode(ctx, u.ID, "h3"), strongroom.KindNotFound, "a replaced code")
	if err := s.UseRecoveryCode(ctx, u.ID, "h4"); err != nil {
		t.Fatal(err)
	}
}
