// Package storetest is the conformance suite every strongroom.Store must
// pass: the behaviour the service relies on, run against each real store.
package storetest

import (
	"context"
	"errors"
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
		{"Admins", testAdmins},
		{"NoAdminOnAFilledStore", testNoAdminOnAFilledStore},
		{"NoAdminAfterEveryAccountIsDeleted", testNoAdminAfterEveryAccountIsDeleted},
		{"Lockout", testLockout},
		{"ConcurrentLockout", testConcurrentLockout},
		{"Records", testRecords},
		{"Keys", testKeys},
		{"Challenges", testChallenges},
		{"ConcurrentConsume", testConcurrentConsume},
		{"RotationLease", testRotationLease},
		{"RotationResume", testRotationResume},
		{"ConcurrentCreates", testConcurrentCreates},
		{"RecordPages", testRecordPages},
		{"RecordUsage", testRecordUsage},
		{"Quota", testQuota},
		{"ConcurrentQuota", testConcurrentQuota},
		{"TOTPSteps", testTOTPSteps},
		{"RecoveryCodes", testRecoveryCodes},
		{"UnknownNameLockout", testUnknownNameLockout},
		{"SecondFactorLockout", testSecondFactorLockout},
		{"ConcurrentSecondFactorLockout", testConcurrentSecondFactorLockout},
		{"ChallengeLookup", testChallengeLookup},
		{"ConcurrentFactorChanges", testConcurrentFactorChanges},
		{"Sessions", testSessions},
		{"EndSession", testEndSession},
		{"EndSessions", testEndSessions},
		{"SetPassword", testSetPassword},
		{"EndedSessions", testEndedSessions},
		{"PurgeSessions", testPurgeSessions},
		{"DestroyUserKey", testDestroyUserKey},
		{"DeleteUser", testDeleteUser},
		{"ConcurrentSessionsEnd", testConcurrentSessionsEnd},
		{"ConcurrentUserWrites", testConcurrentUserWrites},
		{"ConcurrentRecordsAndDeletion", testConcurrentRecordsAndDeletion},
		{"RateLimits", testRateLimits},
		{"ConcurrentRateLimits", testConcurrentRateLimits},
		{"Passkeys", testPasskeys},
		{"Ceremonies", testCeremonies},
		{"PasskeyLimits", testPasskeyLimits},
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
	if err := s.SetSecondFactors(ctx, second.ID, 0, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, second.ID); !got.TwoFactorEnabled || got.SecondFactors() != f {
		t.Fatalf("after SetSecondFactors: %+v, two_factor_enabled %v", got.SecondFactors(), got.TwoFactorEnabled)
	}
	// A change made from the stale read is refused and changes nothing.
	err = s.SetSecondFactors(ctx, second.ID, 0, strongroom.SecondFactors{TOTP: true, TOTPSecret: "01stale"})
	if !errors.Is(err, strongroom.ErrFactorsChanged) {
		t.Fatalf("SetSecondFactors from a stale version: %v, want ErrFactorsChanged", err)
	}
	if got, _ := s.UserByID(ctx, second.ID); got.SecondFactors() != f || got.FactorsVersion != 1 {
		t.Fatalf("a refused change changed the factors: %+v, version %d", got.SecondFactors(), got.FactorsVersion)
	}
	wantKind(t, s.SetSecondFactors(ctx, strongroom.NewID(t0), 0, f), strongroom.KindNotFound, "factors of an unknown user")
	f = strongroom.SecondFactors{TOTP: true, TOTPSecret: "01secret"}
	if err := s.SetSecondFactors(ctx, second.ID, 1, f); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.UserByID(ctx, second.ID); !got.TwoFactorEnabled || got.SecondFactors() != f {
		t.Fatalf("after SetSecondFactors: %+v", got.SecondFactors())
	}
	if err := s.SetSecondFactors(ctx, second.ID, 2, strongroom.SecondFactors{}); err != nil {
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
		n, err := s.ClaimLoginAttempt(ctx, u.ID, now, p)
		if err != nil || n != i {
			t.Fatalf("attempt %d: count %d, %v", i, n, err)
		}
		now = now.Add(time.Second)
	}
	_, err := s.ClaimLoginAttempt(ctx, u.ID, now, p)
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
	_, err = s.ClaimLoginAttempt(ctx, u.ID, last.Add(15*time.Minute-time.Second), p)
	wantKind(t, err, strongroom.KindLocked, "within window")
	if n, err := s.ClaimLoginAttempt(ctx, u.ID, last.Add(15*time.Minute+time.Second), p); err != nil || n != 1 {
		t.Fatalf("attempt after the window: count %d, %v; want a fresh count of 1", n, err)
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
			_, err := s.ClaimLoginAttempt(ctx, u.ID, t0, p)
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

// parallel runs f n times at once and returns how many calls reported
// success: the suite's way to show that something happens exactly once.
func parallel(n int, f func() bool) int {
	var won atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f() {
				won.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(won.Load())
}
