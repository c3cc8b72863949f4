package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/internal/failpoint"
	"github.com/strongroom/strongroom/otp"
	"github.com/strongroom/strongroom/password"
)

// FailpointKeyWrapped is between a registration's wrap of its data key and
// its store of it, for tests that hold a registration there while a
// rotation runs.
const FailpointKeyWrapped = "register:key-wrapped"

// errLogin is the one answer to a wrong username or password.
var errLogin = strongroom.Errorf(strongroom.KindUnauthorized, "incorrect username or password")

// Register creates an account with its own data key, wrapped by the master
// key. Usernames are case-insensitive. client is the caller's address, for
// the per-address limits.
func (s *Service) Register(ctx context.Context, client, username, email, pw string) error {
	username = strongroom.NormalizeUsername(username)
	if err := strongroom.ValidateUsername(username); err != nil {
		return err
	}
	email, err := strongroom.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := strongroom.ValidatePassword(pw); err != nil {
		return err
	}
	slot, err := s.passwordSlot(ctx, client)
	if err != nil {
		return err
	}
	hash, salt, err := slot.Hash(s.rand, pw)
	if err != nil {
		return passwordErr(err)
	}
	dek, err := envelope.NewKey(s.rand)
	if err != nil {
		return strongroom.Internal("register: new data key", err)
	}
	defer dek.Zero()
	raw := dek.Bytes()
	now := s.now()
	u := &strongroom.User{ID: strongroom.NewID(now), Username: username, Email: email, HashedPassword: hash, Salt: salt, CreatedAt: now.UTC()}
	defer clear(raw)
	// A rotation that starts between Wrap and CreateUser makes the store
	// refuse the key; wrapping again picks up the new master-key version.
	for try := 0; ; try++ {
		wrapped, err := s.keys.Wrap(ctx, u.ID, raw)
		if err != nil {
			return err
		}
		failpoint.Hit(FailpointKeyWrapped)
		err = s.store.CreateUser(ctx, u, wrapped, true)
		if err == nil {
			break
		}
		// ErrStaleKey is a conflict too: it is tested first, or the retry
		// never comes.
		if errors.Is(err, strongroom.ErrStaleKey) {
			if try == 2 {
				return err
			}
			continue
		}
		if strongroom.IsKind(err, strongroom.KindConflict) {
			// A name or address taken: a refusal worth seeing in numbers
			// (someone probing which accounts exist), named by no one.
			return s.refused(ctx, err, strongroom.AuditRegister, "", "")
		}
		return err
	}
	s.deks.Put(u.ID, dek)
	s.log.InfoContext(ctx, "user registered", "user_id", u.ID, "admin", s.isAdmin(u))
	// The account exists now: if its event cannot be stored the answer is
	// 503, and the client learns on its next try (409) or login that it
	// was made.
	return s.audit(ctx, strongroom.AuditRegister, strongroom.AuditSuccess, u.ID, u.ID)
}

func passwordErr(err error) error {
	if errors.Is(err, password.ErrClientBusy) {
		return &strongroom.Error{Kind: strongroom.KindLocked, Message: "too many password checks at once from your address; try again shortly",
			RetryAfter: time.Second, Err: fmt.Errorf("%w: %w", strongroom.ErrOverload, err)}
	}
	if errors.Is(err, password.ErrBusy) {
		return strongroom.Unavailable("server busy; try again shortly", fmt.Errorf("%w: %w", strongroom.ErrOverload, err))
	}
	return strongroom.Internal("password", err)
}

// LoginResult is a token, or the news that a second factor is needed.
type LoginResult struct {
	Token             string
	TwoFactorRequired bool
	// Challenge binds the second step to this login: /verify-otp and
	// /send-otp without a bearer token need it.
	Challenge  string
	CodeMailed bool // the second factor is a mailed code (else an app or recovery code)
}

// Login checks a password. Unknown users and wrong passwords get the same
// error after the same work, and lock out alike; the lockout counts the
// attempt before the password is checked. client is the caller's address:
// the per-address limits apply to it, and a login that mails a code counts
// against its mail limit.
func (s *Service) Login(ctx context.Context, client, username, pw string) (res LoginResult, err error) {
	defer func() { s.obs.Login(loginOutcome(res, err)) }()
	// A place in the hashing pool first: when the server is saturated with
	// logins, the answer is a fast 503 that has cost no store work and has
	// not counted against the account's lockout.
	slot, err := s.passwordSlot(ctx, client)
	if err != nil {
		return LoginResult{}, err
	}
	defer slot.Release()
	username = strongroom.NormalizeUsername(username)
	now := s.now()
	u, err := s.store.UserByUsername(ctx, username)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		// The events of a name without an account name no one: the name
		// typed is not kept, since it may be a password typed in the
		// wrong box (its failures are counted under a keyed hash of it).
		// The client address and request id remain.
		if err := s.store.ClaimUnknownLoginAttempt(ctx, otp.UnknownNameHash(s.otpKey, username), now, s.cfg.Lockout); err != nil {
			// The same lookup a locked account makes: it finds nothing.
			if _, berr := s.bypass(ctx, username, client, err); berr != nil {
				return LoginResult{}, s.lockedOut(ctx, berr, "")
			}
		}
		slot.VerifyDummy(pw)
		return LoginResult{}, s.refused(ctx, errLogin, strongroom.AuditLoginFailure, "", "")
	}
	if err != nil {
		return LoginResult{}, err
	}
	n, err := s.store.ClaimLoginAttempt(ctx, u.ID, now, s.cfg.Lockout)
	var pass *strongroom.Challenge
	if err != nil {
		if pass, err = s.bypass(ctx, username, client, err); err != nil {
			// Debug only: a flood of these would fill the log, and an
			// unknown name's refusals are not logged either.
			s.log.DebugContext(ctx, "login refused: account locked", "user_id", u.ID)
			return LoginResult{}, s.lockedOut(ctx, err, u.ID)
		}
	}
	if !slot.Verify(pw, u.HashedPassword, u.Salt) {
		s.log.InfoContext(ctx, "login failed: wrong password", "user_id", u.ID)
		if pass == nil {
			s.passwordFailed(ctx, u, n)
		}
		return LoginResult{}, s.refused(ctx, errLogin, strongroom.AuditLoginFailure, u.ID, u.ID)
	}
	if err := s.passwordAccepted(ctx, u, pass); err != nil {
		return LoginResult{}, err
	}
	if u.TwoFactorEnabled {
		if s.secondFactorLockout.Locked(u.SecondFactorFailures, u.LastSecondFactorFailure, now) {
			return LoginResult{}, s.refused(ctx, strongroom.LockedUntil(u.LastSecondFactorFailure.Add(s.secondFactorLockout.Window), now),
				strongroom.AuditLoginLocked, u.ID, u.ID)
		}
		// The password was right: that is worth its event even if the
		// second step never comes (whoever typed it knows the password).
		if err := s.audit(ctx, strongroom.AuditLoginSuccess, outcomeSecondFactor, u.ID, ""); err != nil {
			return LoginResult{}, err
		}
		challenge, mailed, err := s.startSecondStep(ctx, client, u)
		if err != nil {
			return LoginResult{}, err
		}
		s.log.InfoContext(ctx, "login: password accepted, second factor required", "user_id", u.ID)
		return LoginResult{TwoFactorRequired: true, Challenge: challenge, CodeMailed: mailed}, nil
	}
	tok, err := s.grant(ctx, u, client)
	if err != nil {
		return LoginResult{}, err
	}
	s.log.InfoContext(ctx, "login succeeded", "user_id", u.ID)
	return LoginResult{Token: tok}, nil
}

// lockedOut records a login (or a password check) refused by a lockout,
// and returns the refusal: login.locked for userID ("" for a name without
// an account). Other errors pass unrecorded.
func (s *Service) lockedOut(ctx context.Context, err error, userID string) error {
	if !strongroom.IsKind(err, strongroom.KindLocked) {
		return err
	}
	return s.refused(ctx, err, strongroom.AuditLoginLocked, userID, userID)
}

// checkPassword checks the password of a signed-in user who asks for a
// change, by the login's rules: a hashing slot first, then the lockout
// counts the attempt, so busy answers cost the account nothing.
func (s *Service) checkPassword(ctx context.Context, client string, u *strongroom.User, pw string) error {
	slot, err := s.cfg.Passwords.Reserve(ctx, client)
	if err != nil {
		return passwordErr(err)
	}
	defer slot.Release()
	n, err := s.store.ClaimLoginAttempt(ctx, u.ID, s.now(), s.cfg.Lockout)
	var pass *strongroom.Challenge
	if err != nil {
		if pass, err = s.bypass(ctx, u.Username, client, err); err != nil {
			return s.lockedOut(ctx, err, u.ID)
		}
	}
	if !slot.Verify(pw, u.HashedPassword, u.Salt) {
		s.log.InfoContext(ctx, "wrong password for an account change", "user_id", u.ID)
		if pass == nil {
			s.passwordFailed(ctx, u, n)
		}
		// Counted in the login lockout, and recorded like a login's.
		return s.refused(ctx, strongroom.Errorf(strongroom.KindUnauthorized, "incorrect password"), strongroom.AuditLoginFailure, u.ID, u.ID)
	}
	return s.passwordAccepted(ctx, u, pass)
}

// passwordAccepted follows a right password: the count of failures ends,
// so the lock is lifted for everyone. A pass it came through stays until
// its tries or its time are spent, for strangers who lock the account
// again.
func (s *Service) passwordAccepted(ctx context.Context, u *strongroom.User, pass *strongroom.Challenge) error {
	if pass != nil {
		s.log.InfoContext(ctx, "password accepted through a lock, from the address that unlocked the account", "user_id", u.ID)
	}
	return s.store.ResetLoginFailures(ctx, u.ID)
}

// passwordFailed follows a wrong password that was the n-th failure in a
// row: the one that locks the account mails its owner an unlock code, so
// a stranger's guessing cannot keep the owner out.
func (s *Service) passwordFailed(ctx context.Context, u *strongroom.User, n int) {
	if n != s.cfg.Lockout.MaxFailures {
		return
	}
	s.log.WarnContext(ctx, "account locked after failed passwords", "user_id", u.ID)
	s.obs.Locked(LockPassword)
	s.afterAnswer(ctx, func(ctx context.Context) { s.mailUnlockCode(ctx, u, n) })
}

// mailUnlockCode stores a fresh unlock code for u and mails it.
func (s *Service) mailUnlockCode(ctx context.Context, u *strongroom.User, n int) {
	codes, err := otp.NewRecoveryCodes(s.rand, 1)
	if err != nil {
		s.log.ErrorContext(ctx, "unlock code", "user_id", u.ID, "err", err)
		return
	}
	now := s.now()
	c := &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: strongroom.PurposeUnlock,
		LookupHash: otp.UnlockHash(s.otpKey, u.Username, codes[0]), CreatedAt: now, ExpiresAt: now.Add(otp.UnlockTTL)}
	if err := s.store.PutChallenge(ctx, c); err != nil {
		s.log.ErrorContext(ctx, "could not store an unlock code", "user_id", u.ID, "err", err)
		return
	}
	err = s.send(ctx, u, "Your Strongroom account is locked", fmt.Sprintf(
		"There were %d failed sign-ins to your Strongroom account in a row, so it is locked for %d minutes.\n\n"+
			"If that was you, you can sign in now anyway: send this code from the device you sign in with\n"+
			"(it works once, for %d minutes), then sign in from that device:\n\n    %s\n\n"+
			"POST /unlock {\"username\": \"%s\", \"code\": \"%s\"}\n\n"+
			"If it was not you, someone is guessing your password: the lock protects you, and you need do nothing.\n",
		n, int(s.cfg.Lockout.Window/time.Minute), int(otp.UnlockTTL/time.Minute), codes[0], u.Username, codes[0]))
	outcome := strongroom.AuditFailure
	if err == nil {
		s.obs.CodeSent(strongroom.PurposeUnlock)
		outcome = strongroom.AuditSuccess
	}
	s.auditLater(ctx, strongroom.AuditOTPSent, outcome, u.ID, string(CodeUnlock))
}

// passTries is how many passwords, right or wrong, a pass from /unlock
// lets its address try through a lock.
const passTries = 3

// bypass decides a login refused with locked (a lockout) for username
// from client: if that address unlocked the account with the mailed code
// within the last 15 minutes, it may try its password anyway (passTries
// tries), so strangers who keep the account locked cannot keep its owner
// out. It returns the pass that lets the login go on, or locked.
func (s *Service) bypass(ctx context.Context, username, client string, locked error) (*strongroom.Challenge, error) {
	if !strongroom.IsKind(locked, strongroom.KindLocked) {
		return nil, locked
	}
	now := s.now()
	c, err := s.store.ChallengeByLookup(ctx, otp.BypassHash(s.otpKey, username, client), now)
	if err == nil && c.Purpose == strongroom.PurposeUnlocked {
		err = s.store.ClaimChallengeAttempt(ctx, c.ID, now, passTries)
		if err == nil {
			return c, nil
		}
	}
	if err != nil && !strongroom.IsKind(err, strongroom.KindNotFound) {
		return nil, err
	}
	return nil, locked
}

// errUnlock is the one answer to an unlock code that does not work, for
// known and unknown users alike.
var errUnlock = strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired unlock code")

// Unlock lifts a login lockout, for the client address that presents the
// code mailed to the owner when the account locked: that address gets a
// pass through the lock for 15 minutes and passTries passwords, and a
// right password there lifts the lock for everyone. The lock itself stays
// until then, so whoever reads the mail but lacks the password gains no
// fresh guesses, and strangers who keep guessing cannot keep the owner
// out. One lookup by the code's keyed hash answers for known and unknown
// usernames alike; each code works once.
func (s *Service) Unlock(ctx context.Context, client, username, code string) error {
	if otp.NormalizeRecoveryCode(code) == "" {
		return strongroom.Invalid("code", "code must be the 10-character unlock code from the mail (XXXXX-XXXXX)")
	}
	if err := s.limit(ctx, s.unlockAddr, client, "attempts"); err != nil {
		return err
	}
	username = strongroom.NormalizeUsername(username)
	c, err := s.store.ChallengeByLookup(ctx, otp.UnlockHash(s.otpKey, username, code), s.now())
	if strongroom.IsKind(err, strongroom.KindNotFound) || err == nil && c.Purpose != strongroom.PurposeUnlock {
		s.log.DebugContext(ctx, "unlock refused")
		s.obs.CodeChecked(CodeUnlock, false)
		// Looked up by the code's keyed hash: a wrong code names no one.
		return s.refused(ctx, errUnlock, strongroom.AuditOTPFailure, "", string(CodeUnlock))
	}
	if err != nil {
		return err
	}
	if err := s.store.ConsumeChallenge(ctx, c.ID); err != nil {
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			s.obs.CodeChecked(CodeUnlock, false) // used by a parallel request first
			return s.refused(ctx, errUnlock, strongroom.AuditOTPFailure, c.UserID, string(CodeUnlock))
		}
		return err
	}
	s.obs.CodeChecked(CodeUnlock, true)
	now := s.now()
	if err := s.store.PutChallenge(ctx, &strongroom.Challenge{ID: strongroom.NewID(now), UserID: c.UserID, Purpose: strongroom.PurposeUnlocked,
		LookupHash: otp.BypassHash(s.otpKey, username, client), CreatedAt: now, ExpiresAt: now.Add(otp.UnlockTTL)}); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account unlocked with a mailed code", "user_id", c.UserID)
	return s.audit(ctx, strongroom.AuditAccountUnlocked, strongroom.AuditSuccess, c.UserID, c.UserID)
}

// errChangeOvertaken answers a password change that another change (or an
// end of all the account's sessions) overtook after its password check.
var errChangeOvertaken = strongroom.Errorf(strongroom.KindConflict,
	"the password was changed, or the account's sessions ended, while this change was checked: nothing was changed")

// ChangePassword replaces the caller's password, given the current one
// and, while two-factor authentication is on, a current second factor
// (code), and ends every other session of the user: whoever else holds a
// token, or is half-way through a login, must log in again with the new
// password. The owner is mailed a notice.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, client, current, next, code string) error {
	if err := strongroom.ValidatePassword(next); err != nil {
		var e *strongroom.Error
		if errors.As(err, &e) {
			return strongroom.Invalid("new_password", "new_%s", e.Message) // "new_password must be ..."
		}
		return err
	}
	if next == current {
		return strongroom.Invalid("new_password", "new_password must differ from the current password")
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, p, u, client, current, code); err != nil {
		return err
	}
	slot, err := s.passwordSlot(ctx, client)
	if err != nil {
		return err
	}
	hash, salt, err := slot.Hash(s.rand, next)
	if err != nil {
		return passwordErr(err)
	}
	// Only at the epoch read before the password was checked: a change (or
	// an end of all sessions) that came meanwhile wins, and this one, whose
	// password may no longer be the account's, is refused whole.
	ended, err := s.store.SetPassword(ctx, u.ID, hash, salt, p.TokenID, u.SessionsEpoch, s.now())
	s.ended.Add(ended...)
	if errors.Is(err, strongroom.ErrSessionsEnded) {
		s.log.InfoContext(ctx, "password change overtaken by another change or an end of the account's sessions", "user_id", u.ID)
		return errChangeOvertaken
	}
	if err != nil {
		return err
	}
	s.log.WarnContext(ctx, "password changed", "user_id", u.ID, "sessions_ended", len(ended))
	s.notifyFactorChange(ctx, u, "Your password was changed",
		"Every other session of your account was ended: sign in again there with the new password.")
	return s.audit(ctx, strongroom.AuditPasswordChanged, strongroom.AuditSuccess, u.ID, u.ID)
}

// AccountView is what a page shows of the signed-in account.
type AccountView struct {
	Username   string
	TwoFactor  bool // a second factor is on: changes need a current one
	EmailCodes bool // codes are mailed (SendOTP with the token mails one)
}

// Account returns the caller's username and second factors: for a page to
// say who is signed in, so that a session planted in the browser by
// someone else shows, and which codes its forms take.
func (s *Service) Account(ctx context.Context, p *Principal) (AccountView, error) {
	u, err := s.store.UserByID(ctx, p.UserID)
	if err != nil {
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return AccountView{}, errSessionEnded
		}
		return AccountView{}, err
	}
	return AccountView{Username: u.Username, TwoFactor: u.TwoFactorEnabled, EmailCodes: u.EmailOTPEnabled}, nil
}
