// Package storetest is the conformance suite every strongroom.Store must
// pass: the behaviour the service relies on, run against each real store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strongroom/strongroom"
)

// Run runs the suite. open returns an empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) strongroom.Store) {
	for _, tc := range []struct {
		name string
		f    func(*testing.T, strongroom.Store)
	}{
		{"Users", testUsers},
		{"Lockout", testLockout},
		{"ConcurrentLockout", testConcurrentLockout},
		{"Records", testRecords},
		{"Keys", testKeys},
		{"Challenges", testChallenges},
		{"ConcurrentConsume", testConcurrentConsume},
		{"RotationLease", testRotationLease},
		{"RotationResume", testRotationResume},
		{"ConcurrentCreates", testConcurrentCreates},
		{"TOTPSteps", testTOTPSteps},
		{"RecoveryCodes", testRecoveryCodes},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// NewUser returns a user ready to insert, with a made-up wrapped key.
func NewUser(name string) (*strongroom.User, strongroom.WrappedKey) {
	u := &strongroom.User{
		ID: strongroom.NewID(t0), Username: name, Email: name + "@example.com",
		HashedPassword: "$2a$12$hash", Salt: "00112233445566778899aabbccddeeff", CreatedAt: t0,
	}
	return u, strongroom.WrappedKey{Ciphertext: "sr:v1:" + name, Version: 1}
}

// MustCreateUser inserts a new user and returns it.
func MustCreateUser(t testing.TB, s strongroom.Store, name string) *strongroom.User {
	t.Helper()
	u, k := NewUser(name)
	if err := s.CreateUser(context.Background(), u, k, false); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

func wantKind(t *testing.T, err error, kind strongroom.Kind, what string) {
	t.Helper()
	if got := strongroom.ErrorKind(err); got != kind {
		t.Fatalf("%s: error %v (kind %q), want kind %q", what, err, got, kind)
	}
}

func testUsers(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	first, k := NewUser("first")
	if err := s.CreateUser(ctx, first, k, true); err != nil {
		t.Fatal(err)
	}
	if !first.IsAdmin {
		t.Fatal("first user is not the admin")
	}
	second, k2 := NewUser("second")
	if err := s.CreateUser(ctx, second, k2, true); err != nil {
		t.Fatal(err)
	}
	if second.IsAdmin {
		t.Fatal("second user became admin")
	}
	dupName, k3 := NewUser("first")
	dupName.Email = "other@example.com"
	err := s.CreateUser(ctx, dupName, k3, false)
	wantKind(t, err, strongroom.KindConflict, "duplicate username")
	if !strings.Contains(err.Error(), "username") {
		t.Fatalf("duplicate username error %q does not name the field", err)
	}
	dupMail, k4 := NewUser("third")
	dupMail.Email = first.Email
	err = s.CreateUser(ctx, dupMail, k4, false)
	wantKind(t, err, strongroom.KindConflict, "duplicate email")
	if !strings.Contains(err.Error(), "email") {
		t.Fatalf("duplicate email error %q does not name the field", err)
	}
	if _, err := s.UserKey(ctx, dupMail.ID); !strongroom.IsKind(err, strongroom.KindNotFound) {
		t.Fatalf("a refused user left a key behind: %v", err)
	}

	got, err := s.UserByUsername(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID || got.Email != first.Email || got.HashedPassword != first.HashedPassword ||
		got.Salt != first.Salt || !got.IsAdmin || got.TwoFactorEnabled || !got.CreatedAt.Equal(t0) {
		t.Fatalf("UserByUsername = %+v, want %+v", got, first)
	}
	if got, err := s.UserByID(ctx, second.ID); err != nil || got.Username != "second" {
		t.Fatalf("UserByID = %+v, %v", got, err)
	}
	_, err = s.UserByUsername(ctx, "nobody")
	wantKind(t, err, strongroom.KindNotFound, "unknown username")
	_, err = s.UserByID(ctx, strongroom.NewID(t0))
	wantKind(t, err, strongroom.KindNotFound, "unknown id")

	f := strongroom.SecondFactors{EmailOTP: true, TOTPPending: "01pending"}
	if err := s.SetSecondFactors(ctx, second.ID, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, second.ID); !got.TwoFactorEnabled || got.SecondFactors() != f {
		t.Fatalf("after SetSecondFactors: %+v, two_factor_enabled %v", got.SecondFactors(), got.TwoFactorEnabled)
	}
	f = strongroom.SecondFactors{TOTP: true, TOTPSecret: "01secret"}
	if err := s.SetSecondFactors(ctx, second.ID, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, second.ID); !got.TwoFactorEnabled || got.SecondFactors() != f {
		t.Fatalf("after SetSecondFactors: %+v", got.SecondFactors())
	}
	if err := s.SetSecondFactors(ctx, second.ID, strongroom.SecondFactors{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, second.ID); got.TwoFactorEnabled || got.TOTPSecret != "" {
		t.Fatalf("2FA still on after turning every factor off: %+v", got.SecondFactors())
	}
	if key, err := s.UserKey(ctx, first.ID); err != nil || key != k {
		t.Fatalf("UserKey = %+v, %v; want %+v", key, err, k)
	}
}

func testLockout(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "locky")
	p := strongroom.Lockout{MaxFailures: 5, Window: 15 * time.Minute}
	now := t0
	for i := 1; i <= 5; i++ {
		if err := s.ClaimLoginAttempt(ctx, u.ID, now, p); err != nil {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	err := s.ClaimLoginAttempt(ctx, u.ID, now, p)
	wantKind(t, err, strongroom.KindLocked, "sixth attempt")
	var e *strongroom.Error
	if !errors.As(err, &e) || e.RetryAfter <= 14*time.Minute || e.RetryAfter > 15*time.Minute {
		t.Fatalf("RetryAfter = %v, want about 15 minutes", e.RetryAfter)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.FailedAttempts != 5 {
		t.Fatalf("failed_attempts = %d after lock, want 5", got.FailedAttempts)
	}
	// Still locked just before the window ends, free after it.
	last := t0.Add(4 * time.Second)
	wantKind(t, s.ClaimLoginAttempt(ctx, u.ID, last.Add(15*time.Minute-time.Second), p), strongroom.KindLocked, "within window")
	if err := s.ClaimLoginAttempt(ctx, u.ID, last.Add(15*time.Minute+time.Second), p); err != nil {
		t.Fatalf("attempt after the window refused: %v", err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.FailedAttempts != 1 {
		t.Fatalf("failed_attempts = %d after the window, want a fresh count of 1", got.FailedAttempts)
	}
	if err := s.ResetLoginFailures(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.FailedAttempts != 0 || !got.LastFailedAttemptTime.IsZero() {
		t.Fatalf("after reset: %d, %v", got.FailedAttempts, got.LastFailedAttemptTime)
	}
}

func testConcurrentLockout(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "racer")
	p := strongroom.Lockout{MaxFailures: 5, Window: 15 * time.Minute}
	var ok, locked atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.ClaimLoginAttempt(ctx, u.ID, t0, p)
			switch {
			case err == nil:
				ok.Add(1)
			case strongroom.IsKind(err, strongroom.KindLocked):
				locked.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 5 || locked.Load() != 45 {
		t.Fatalf("50 parallel attempts: %d admitted, %d locked; want 5 and 45", ok.Load(), locked.Load())
	}
}

func testRecords(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	alice, bob := MustCreateUser(t, s, "alice"), MustCreateUser(t, s, "bob")
	var ids []string
	for i := 0; i < 3; i++ {
		r := &strongroom.Record{ID: strongroom.NewID(t0), UserID: alice.ID, DataType: "card_number",
			EncryptedValue: fmt.Sprintf("01%02x", i), CreatedAt: t0.Add(time.Duration(i) * time.Second), UpdatedAt: t0}
		if err := s.CreateRecord(ctx, r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	list, err := s.Records(ctx, alice.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("Records = %d, %v", len(list), err)
	}
	for i, r := range list {
		if r.ID != ids[i] || r.EncryptedValue != fmt.Sprintf("01%02x", i) {
			t.Fatalf("record %d = %+v, want id %s in creation order", i, r, ids[i])
		}
	}
	if list, _ := s.Records(ctx, bob.ID); len(list) != 0 {
		t.Fatalf("bob sees %d records", len(list))
	}
	_, err = s.Record(ctx, bob.ID, ids[0])
	wantKind(t, err, strongroom.KindNotFound, "other user's record")
	upd := &strongroom.Record{ID: ids[0], UserID: bob.ID, DataType: "x", EncryptedValue: "ff", UpdatedAt: t0}
	wantKind(t, s.UpdateRecord(ctx, upd), strongroom.KindNotFound, "update other user's record")
	wantKind(t, s.DeleteRecord(ctx, bob.ID, ids[0]), strongroom.KindNotFound, "delete other user's record")

	upd.UserID = alice.ID
	upd.UpdatedAt = t0.Add(time.Hour)
	if err := s.UpdateRecord(ctx, upd); err != nil {
		t.Fatal(err)
	}
	got, err := s.Record(ctx, alice.ID, ids[0])
	if err != nil || got.DataType != "x" || got.EncryptedValue != "ff" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v, %v", got, err)
	}
	if err := s.DeleteRecord(ctx, alice.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.DeleteRecord(ctx, alice.ID, ids[0]), strongroom.KindNotFound, "second delete")
	_, err = s.Record(ctx, alice.ID, ids[0])
	wantKind(t, err, strongroom.KindNotFound, "deleted record")
}

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
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.ConsumeChallenge(ctx, c.ID) == nil {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d parallel consumes succeeded, want 1", won.Load())
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

func testTOTPSteps(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "totp")
	if err := s.UseTOTPStep(ctx, u.ID, 100); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseTOTPStep(ctx, u.ID, 100), strongroom.KindConflict, "the same step again")
	wantKind(t, s.UseTOTPStep(ctx, u.ID, 99), strongroom.KindConflict, "an older step")
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.UseTOTPStep(ctx, u.ID, 101) == nil {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d parallel uses of one step succeeded, want 1", won.Load())
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
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s.UseRecoveryCode(ctx, u.ID, "h2") == nil {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d parallel uses of one code succeeded, want 1", won.Load())
	}
	if err := s.ReplaceRecoveryCodes(ctx, u.ID, []string{"h4"}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, s.UseRecoveryCode(ctx, u.ID, "h3"), strongroom.KindNotFound, "a replaced code")
	if err := s.UseRecoveryCode(ctx, u.ID, "h4"); err != nil {
		t.Fatal(err)
	}
}

// testConcurrentCreates: many records created at once all land (the SQLite
// store commits them in groups), and one that collides fails alone.
func testConcurrentCreates(t *testing.T, s strongroom.Store) {
	ctx := context.Background()
	u := MustCreateUser(t, s, "burst")
	dup := strongroom.NewID(t0)
	var wg sync.WaitGroup
	var conflicts, failures atomic.Int32
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := strongroom.NewID(t0)
			if i < 2 {
				id = dup // two creates with one id: exactly one must fail
			}
			err := s.CreateRecord(ctx, &strongroom.Record{ID: id, UserID: u.ID, DataType: "x", EncryptedValue: "01", CreatedAt: t0, UpdatedAt: t0})
			switch {
			case strongroom.IsKind(err, strongroom.KindConflict):
				conflicts.Add(1)
			case err != nil:
				failures.Add(1)
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if conflicts.Load() != 1 || failures.Load() != 0 {
		t.Fatalf("%d conflicts, %d other failures; want 1 and 0", conflicts.Load(), failures.Load())
	}
	if list, err := s.Records(ctx, u.ID); err != nil || len(list) != 99 {
		t.Fatalf("%d records stored, want 99 (%v)", len(list), err)
	}
}
