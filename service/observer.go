package service

import (
	"errors"

	"github.com/strongroom/strongroom"
)

// Observer is told of the security events the service decides, as they
// happen, so that an operator can count them (package metrics turns them
// into Prometheus counters; the service itself knows nothing of
// Prometheus). Its methods are called on request paths: they must be quick
// and never block. They get only words from the fixed sets below and
// counts, never a user id, a username, an address or a code, so whatever
// counts them can be shown to whoever reads the metrics.
//
// Implementations should embed NopObserver, so that a method added here
// later does not break them.
type Observer interface {
	// Login reports how a password login (POST /login) ended.
	Login(outcome LoginOutcome)
	// Refused reports a login or registration refused for load before
	// any password work: reason is "rate_limited", "over_share" or
	// "pool_full" (see passwordSlot).
	Refused(reason string)
	// Locked reports that an account has just locked: LockPassword when a
	// wrong password was the one too many, LockSecondFactor likewise for
	// second factors. Only accounts lock this way; a name without an
	// account locks in the store without the service seeing it.
	Locked(what Lock)
	// CodeSent reports a one-time code mailed: for a login's second step
	// (PurposeLogin), for enrollment or a change (PurposeEnroll), or to
	// unlock a locked account (PurposeUnlock).
	CodeSent(purpose strongroom.Purpose)
	// CodeChecked reports a code that was compared and accepted (ok) or
	// refused. Codes refused before any comparison (a malformed code, a
	// spent budget, no valid challenge) are not reported here.
	CodeChecked(kind CodeKind, ok bool)
	// RotationStarted reports a master-key rotation started or resumed
	// by this process: keys is how many data keys it rewraps in all,
	// rewrapped how many of them an interrupted run already did.
	RotationStarted(keys, rewrapped int)
	// RotationProgress reports the data keys rewrapped so far, after each
	// batch.
	RotationProgress(rewrapped int)
	// RotationFinished reports a rotation that ended: done, or stopped by
	// an error (to be resumed by the next run).
	RotationFinished(done bool)
}

// LoginOutcome is how a password login ended.
type LoginOutcome string

// Login outcomes. An unknown username and a wrong password are both
// LoginFailure, as the client sees them.
const (
	LoginSuccess      LoginOutcome = "success"                // a token was issued
	LoginSecondFactor LoginOutcome = "second_factor_required" // the password was right; /verify-otp must follow
	LoginFailure      LoginOutcome = "failure"                // wrong username or password
	LoginLocked       LoginOutcome = "locked"                 // refused by a lockout (the password's or the second step's)
	LoginRefused      LoginOutcome = "refused"                // refused for load before any password work
	LoginInvalid      LoginOutcome = "invalid"                // refused for its input
	LoginError        LoginOutcome = "error"                  // a dependency failed (store, mail) or a bug
	LoginOvertaken    LoginOutcome = "overtaken"              // an end of the account's sessions came meanwhile
)

// Lock says what locked.
type Lock string

// Locks.
const (
	LockPassword     Lock = "password"
	LockSecondFactor Lock = "second_factor"
)

// CodeKind says what kind of code was checked.
type CodeKind string

// Code kinds. A wrong 6-digit code of an account with both a mailed code
// and an app is checked against both, and is CodeEmailOrTOTP.
const (
	CodeEmail       CodeKind = "email"
	CodeTOTP        CodeKind = "totp"
	CodeEmailOrTOTP CodeKind = "email_or_totp"
	CodeRecovery    CodeKind = "recovery"
	CodeUnlock      CodeKind = "unlock"
)

// NopObserver observes nothing. Embed it in an Observer to implement only
// some methods.
type NopObserver struct{}

func (NopObserver) Login(LoginOutcome)          {}
func (NopObserver) Refused(string)              {}
func (NopObserver) Locked(Lock)                 {}
func (NopObserver) CodeSent(strongroom.Purpose) {}
func (NopObserver) CodeChecked(CodeKind, bool)  {}
func (NopObserver) RotationStarted(int, int)    {}
func (NopObserver) RotationProgress(int)        {}
func (NopObserver) RotationFinished(bool)       {}

var _ Observer = NopObserver{}

// loginOutcome classifies Login's answer.
func loginOutcome(res LoginResult, err error) LoginOutcome {
	switch {
	case err == nil && res.TwoFactorRequired:
		return LoginSecondFactor
	case err == nil:
		return LoginSuccess
	case err == errLogin:
		return LoginFailure
	case err == errOvertaken:
		return LoginOvertaken
	}
	switch strongroom.ErrorKind(err) {
	case strongroom.KindLocked:
		if isOverload(err) {
			return LoginRefused
		}
		return LoginLocked
	case strongroom.KindUnavailable:
		if isOverload(err) {
			return LoginRefused
		}
	case strongroom.KindInvalid:
		return LoginInvalid
	}
	return LoginError
}

func isOverload(err error) bool { return errors.Is(err, strongroom.ErrOverload) }

// factorKind names the kind of a second factor that was refused: recovery
// is the code's canonical recovery form ("" for a 6-digit code), email and
// app say whether a mailed code and an authenticator app were checked.
func factorKind(recovery string, email, app bool) CodeKind {
	switch {
	case recovery != "":
		return CodeRecovery
	case email && app:
		return CodeEmailOrTOTP
	case email:
		return CodeEmail
	}
	return CodeTOTP
}
