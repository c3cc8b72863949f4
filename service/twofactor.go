package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/otp"
)

// errCode is the one answer to a wrong, expired, used or missing code.
var errCode = strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired one-time code")

// errAlreadyOn refuses email enrollment with a bearer token on an account
// that has a second factor on.
var errAlreadyOn = strongroom.Errorf(strongroom.KindConflict,
	"two-factor authentication is already on: a code with a bearer token turns it on only for an account without it "+
		"(a code from /send-otp still confirms a change, with the password)")

// errChallenge is the one answer to a second step without a valid login
// challenge, whether or not the user exists.
var errChallenge = strongroom.Errorf(strongroom.KindUnauthorized,
	"invalid or expired login challenge: log in with your password first and send the challenge it answers")

// startSecondStep records that u's password was accepted and returns the
// challenge that binds the second step to this client, and whether a code
// was mailed. With email as a factor it mails a code; otherwise no code
// exists (an app or a recovery code completes the login). When the mail
// budget is spent and the user has an app, the login goes on without mail.
func (s *Service) startSecondStep(ctx context.Context, client string, u *strongroom.User) (challenge string, mailed bool, err error) {
	challenge, err = otp.NewChallenge(s.rand)
	if err != nil {
		return "", false, strongroom.Internal("new challenge", err)
	}
	now := s.now()
	c := &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: strongroom.PurposeLogin,
		LookupHash: otp.ChallengeHash(s.otpKey, challenge), CreatedAt: now, ExpiresAt: now.Add(otp.ChallengeTTL)}
	if u.EmailOTPEnabled {
		err = s.limit(ctx, s.sendAddr, client, "requests")
		if err == nil {
			err = s.mailCode(ctx, nil, u, c, false)
		}
		mailed = err == nil
		if strongroom.IsKind(err, strongroom.KindLocked) && u.TOTPEnabled {
			err = s.store.PutChallenge(ctx, c)
		}
	} else {
		err = s.store.PutChallenge(ctx, c)
	}
	if err != nil {
		return "", false, err
	}
	// An end of all of u's sessions (a password change, say) deletes the
	// pending logins: one that came after the read of u that accepted the
	// password, but before this challenge was stored, missed it. So the
	// epoch is read again now that the challenge is stored: if it is still
	// the one the password was checked at, any end still to come moves it
	// first and deletes the challenge after; if it has moved, this login
	// is over and must start again with the password as it is now.
	cur, err := s.store.UserByID(ctx, u.ID)
	if err == nil && cur.SessionsEpoch == u.SessionsEpoch {
		return challenge, mailed, nil
	}
	if cerr := s.store.ConsumeChallenge(context.WithoutCancel(ctx), c.ID); cerr != nil && !strongroom.IsKind(cerr, strongroom.KindNotFound) {
		return "", false, cerr
	}
	if err != nil && !strongroom.IsKind(err, strongroom.KindNotFound) {
		return "", false, err
	}
	s.log.InfoContext(ctx, "login overtaken by an end of the account's sessions", "user_id", u.ID)
	return "", false, errOvertaken
}

// loginChallenge returns the pending login that challenge names, and its
// user, if that user is username. Nothing else is looked at, and the
// answer to anything else is errChallenge, so it tells nothing about which
// accounts exist.
func (s *Service) loginChallenge(ctx context.Context, username, challenge string) (*strongroom.Challenge, *strongroom.User, error) {
	if !otp.ValidChallenge(challenge) {
		return nil, nil, errChallenge
	}
	c, err := s.store.ChallengeByLookup(ctx, otp.ChallengeHash(s.otpKey, challenge), s.now())
	if err != nil {
		return nil, nil, codeErr(err, errChallenge)
	}
	if c.Purpose != strongroom.PurposeLogin {
		return nil, nil, errChallenge
	}
	u, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return nil, nil, codeErr(err, errChallenge)
	}
	if u.Username != strongroom.NormalizeUsername(username) {
		return nil, nil, errChallenge
	}
	return c, u, nil
}

// mailCode gives challenge c a fresh code (from the account's login mail
// budget, or, asked for with a bearer token p, from that token's), stores
// it (a new challenge replaces the user's one of that purpose; a re-sent
// code goes into c only while c is live) and mails the code. If the mail
// cannot be sent the challenge is removed, so no code exists that its
// owner never received.
func (s *Service) mailCode(ctx context.Context, p *Principal, u *strongroom.User, c *strongroom.Challenge, resend bool) error {
	budget, key := s.sendLogin, u.ID
	if p != nil {
		budget, key = s.sendChange, p.TokenID
	}
	if err := s.limit(ctx, budget, key, "codes requested"); err != nil {
		return err
	}
	code, err := otp.NewCode(s.rand)
	if err != nil {
		return strongroom.Internal("new code", err)
	}
	c.CodeHash = otp.Hash(s.otpKey, c.ID, code)
	if resend {
		err = s.store.SetChallengeCode(ctx, c.ID, c.CodeHash)
	} else {
		err = s.store.PutChallenge(ctx, c)
	}
	if err != nil {
		return codeErr(err, errChallenge)
	}
	m := strongroom.Mail{
		To:      u.Email,
		Subject: "Your Strongroom verification code",
		Body: fmt.Sprintf("Your Strongroom verification code is %s.\n\nIt expires in %d minutes and works once.\n"+
			"If you did not ask for it, someone knows your password: change it.\n", code, int(otp.TTL/time.Minute)),
	}
	err = s.cfg.Mailer.Send(ctx, m)
	if err == nil {
		// A code that is out must be in the trail; if its event cannot be
		// stored the code is withdrawn, as an undelivered one is.
		err = s.audit(ctx, strongroom.AuditOTPSent, strongroom.AuditSuccess, u.ID, string(CodeEmail))
		if err == nil {
			s.log.InfoContext(ctx, "one-time code sent", "user_id", u.ID, "purpose", string(c.Purpose))
			s.obs.CodeSent(c.Purpose)
			return nil
		}
	} else {
		s.log.ErrorContext(ctx, "one-time code not delivered", "user_id", u.ID, "purpose", string(c.Purpose), "err", err)
		_ = s.audit(ctx, strongroom.AuditOTPSent, strongroom.AuditFailure, u.ID, string(CodeEmail)) // the answer is 503 either way
		if strongroom.ErrorKind(err) != strongroom.KindUnavailable {
			err = strongroom.Unavailable("the code could not be mailed; try again later", err)
		}
	}
	if cerr := s.store.ConsumeChallenge(context.WithoutCancel(ctx), c.ID); cerr != nil && !strongroom.IsKind(cerr, strongroom.KindNotFound) {
		s.log.ErrorContext(ctx, "could not remove an unsent code", "user_id", u.ID, "err", cerr)
	}
	return err
}

// SendOTP mails a one-time code. With a bearer token (p) it mails a code
// for that user's email enrollment (or to confirm a change). Without one it
// re-sends the code of the login that challenge names, for an account with
// email as a factor; without a valid challenge it is refused before
// anything else is looked at, and nothing is spent or sent. client is the
// caller's address.
func (s *Service) SendOTP(ctx context.Context, p *Principal, client, username, challenge string) error {
	if err := s.limit(ctx, s.sendAddr, client, "requests"); err != nil {
		return err
	}
	if p != nil {
		u, err := s.principalUser(ctx, p, strongroom.NormalizeUsername(username))
		if err != nil {
			return err
		}
		now := s.now()
		return s.mailCode(ctx, p, u, &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: strongroom.PurposeEnroll,
			CreatedAt: now, ExpiresAt: now.Add(otp.TTL)}, false)
	}
	c, u, err := s.loginChallenge(ctx, username, challenge)
	if err != nil {
		return err
	}
	if !u.EmailOTPEnabled {
		return strongroom.Errorf(strongroom.KindConflict, "no code is mailed for this account: use your authenticator app or a recovery code")
	}
	// The same login, a new code: the tries already made still count, the
	// login still ends when it would have, and a login completed meanwhile
	// is not brought back.
	return s.mailCode(ctx, nil, u, c, true)
}

// principalUser returns the token's user, checking that the body's
// username, if given, names the same account.
func (s *Service) principalUser(ctx context.Context, p *Principal, username string) (*strongroom.User, error) {
	u, err := s.store.UserByID(ctx, p.UserID)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return nil, strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired token")
	}
	if err != nil {
		return nil, err
	}
	if username != "" && username != u.Username {
		return nil, strongroom.Errorf(strongroom.KindForbidden, "the username does not match the bearer token")
	}
	return u, nil
}

// codeShape checks that code looks like a 6-digit code or a recovery code,
// and returns the recovery code's canonical form ("" for a 6-digit code).
func codeShape(code string) (recovery string, err error) {
	if otp.ValidFormat(code) {
		return "", nil
	}
	if r := otp.NormalizeRecoveryCode(code); r != "" {
		return r, nil
	}
	return "", strongroom.Invalid("otp", "otp must be a 6-digit code or a recovery code")
}

// VerifyOTP checks a second factor and returns a token. With a bearer token
// it completes email enrollment and turns email 2FA on. Without one it
// completes the login that challenge names (its password was accepted
// within the last 5 minutes) with the mailed code, an authenticator-app
// code or a recovery code; without a valid challenge no code is looked
// at. Every code works once; five wrong tries burn the login, and ten
// wrong second factors in a row lock the second step.
func (s *Service) VerifyOTP(ctx context.Context, p *Principal, client, username, challenge, code string) (string, error) {
	code = strings.TrimSpace(code)
	recovery, err := codeShape(code)
	if err != nil {
		return "", err
	}
	if err := s.limit(ctx, s.verifyAddr, client, "attempts"); err != nil {
		return "", err
	}
	if p != nil {
		return s.verifyEnrollment(ctx, p, client, username, code)
	}
	c, u, err := s.loginChallenge(ctx, username, challenge)
	if err != nil {
		// A second step without a live challenge: refused before any code
		// or account is looked at, so it names no one.
		return "", s.codeRefused(ctx, err, "", factorKind(recovery, true, true))
	}
	kind := factorKind(recovery, c.CodeHash != "", u.TOTPEnabled)
	// Budgets of the account are spent only by someone who holds its
	// challenge: by now, someone who knew the password.
	if err := s.limit(ctx, s.verifyLogin, u.ID, "attempts"); err != nil {
		return "", err
	}
	now := s.now()
	if err := s.store.ClaimChallengeAttempt(ctx, c.ID, now, otp.MaxAttempts); err != nil {
		return "", s.codeRefused(ctx, codeErr(err, errCode), u.ID, kind)
	}
	n, err := s.store.ClaimSecondFactorAttempt(ctx, u.ID, now, s.secondFactorLockout)
	if err != nil {
		return "", s.lockedOut(ctx, err, u.ID)
	}
	ok := recovery == "" && c.CodeHash != "" && otp.Check(s.otpKey, c.ID, code, c.CodeHash)
	if ok {
		kind = CodeEmail
	} else {
		if ok, err = s.appOrRecoveryCode(ctx, u, code, recovery); err != nil {
			return "", err
		}
		if ok {
			kind = factorKind(recovery, false, true)
		}
	}
	if !ok {
		s.obs.CodeChecked(kind, false)
		s.secondFactorFailed(ctx, u, n)
		return "", s.refused(ctx, errCode, strongroom.AuditOTPFailure, u.ID, string(kind))
	}
	s.obs.CodeChecked(kind, true)
	if err := s.store.ConsumeChallenge(ctx, c.ID); err != nil {
		return "", s.codeRefused(ctx, codeErr(err, errCode), u.ID, kind)
	}
	if err := s.store.ResetSecondFactorFailures(ctx, u.ID); err != nil {
		return "", err
	}
	if err := s.audit(ctx, strongroom.AuditOTPVerified, strongroom.AuditSuccess, u.ID, string(kind)); err != nil {
		return "", err
	}
	tok, err := s.grant(ctx, u, client)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "second factor accepted", "user_id", u.ID, "purpose", string(c.Purpose))
	return tok, nil
}

// codeRefused records an otp.failure for a refusal that is the answer to
// a code (a 401), and passes any other error on unrecorded.
func (s *Service) codeRefused(ctx context.Context, err error, userID string, kind CodeKind) error {
	if !strongroom.IsKind(err, strongroom.KindUnauthorized) {
		return err
	}
	return s.refused(ctx, err, strongroom.AuditOTPFailure, userID, string(kind))
}

// verifyEnrollment completes email enrollment with the code mailed by
// /send-otp with a bearer token, and answers a fresh token.
func (s *Service) verifyEnrollment(ctx context.Context, p *Principal, client, username, code string) (string, error) {
	u, err := s.principalUser(ctx, p, strongroom.NormalizeUsername(username))
	if err != nil {
		return "", err
	}
	// Only an account without a second factor enrolls this way. With one
	// on, a bearer token and the mailbox would add the mailbox as a factor
	// without the password or the current factor, and could mint a fresh
	// token whenever the last one neared its end, however often the owner
	// ended its sessions. Nothing is checked or spent.
	if u.TwoFactorEnabled {
		return "", errAlreadyOn
	}
	if err := s.limit(ctx, s.verifyToken, p.TokenID, "attempts"); err != nil {
		return "", err
	}
	ok, err := s.mailedCode(ctx, u, strongroom.PurposeEnroll, code)
	if err != nil {
		return "", err
	}
	s.obs.CodeChecked(CodeEmail, ok)
	if !ok {
		s.log.InfoContext(ctx, "one-time code refused", "user_id", u.ID, "purpose", string(strongroom.PurposeEnroll))
		return "", s.refused(ctx, errCode, strongroom.AuditOTPFailure, u.ID, string(CodeEmail))
	}
	if err := s.audit(ctx, strongroom.AuditOTPVerified, strongroom.AuditSuccess, u.ID, string(CodeEmail)); err != nil {
		return "", err
	}
	f := u.SecondFactors()
	f.EmailOTP = true
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, f); err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "two-factor authentication by email enabled", "user_id", u.ID)
	s.notifyFactorChange(ctx, u, "Two-factor authentication by email was turned on",
		"From now on, signing in needs your password and a code mailed to this address.")
	if err := s.audit(ctx, strongroom.Audit2FAEnabled, strongroom.AuditSuccess, u.ID, string(CodeEmail)); err != nil {
		return "", err
	}
	tok, err := s.grant(ctx, u, client)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "second factor accepted", "user_id", u.ID, "purpose", string(strongroom.PurposeEnroll))
	return tok, nil
}

// mailedCode checks code against the user's live mailed code of that
// purpose (one try of its five) and uses it up if it matches.
func (s *Service) mailedCode(ctx context.Context, u *strongroom.User, purpose strongroom.Purpose, code string) (bool, error) {
	now := s.now()
	c, err := s.store.Challenge(ctx, u.ID, purpose, now)
	if err == nil {
		err = s.store.ClaimChallengeAttempt(ctx, c.ID, now, otp.MaxAttempts)
	}
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if c.CodeHash == "" || !otp.Check(s.otpKey, c.ID, code, c.CodeHash) {
		return false, nil
	}
	err = s.store.ConsumeChallenge(ctx, c.ID)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return false, nil
	}
	return err == nil, err
}

// appOrRecoveryCode checks code as the user's recovery code (recovery is
// its canonical form) or as an authenticator-app code, and uses it up.
func (s *Service) appOrRecoveryCode(ctx context.Context, u *strongroom.User, code, recovery string) (bool, error) {
	if recovery != "" {
		err := s.store.UseRecoveryCode(ctx, u.ID, otp.RecoveryHash(s.otpKey, u.ID, recovery))
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		s.log.WarnContext(ctx, "recovery code used", "user_id", u.ID)
		return true, nil
	}
	if !u.TOTPEnabled {
		return false, nil
	}
	secret, err := s.openTOTPSecret(ctx, u.ID, u.TOTPSecret)
	if err != nil {
		return false, err
	}
	step, ok := otp.MatchTOTP(secret, code, s.now())
	if !ok {
		return false, nil
	}
	err = s.store.UseTOTPStep(ctx, u.ID, step)
	if strongroom.IsKind(err, strongroom.KindConflict) {
		s.log.WarnContext(ctx, "authenticator code replayed", "user_id", u.ID)
		return false, nil
	}
	return err == nil, err
}

// checkCurrentFactor checks, for a change asked for with a bearer token,
// a second factor the user has now: an app code, a recovery code, or an
// email code from /send-otp. Failures count toward the second-factor
// lockout.
func (s *Service) checkCurrentFactor(ctx context.Context, u *strongroom.User, code, recovery string) error {
	n, err := s.store.ClaimSecondFactorAttempt(ctx, u.ID, s.now(), s.secondFactorLockout)
	if err != nil {
		return s.lockedOut(ctx, err, u.ID)
	}
	ok, kind := false, factorKind(recovery, u.EmailOTPEnabled, u.TOTPEnabled)
	if recovery == "" && u.EmailOTPEnabled {
		if ok, err = s.mailedCode(ctx, u, strongroom.PurposeEnroll, code); err != nil {
			return err
		}
		if ok {
			kind = CodeEmail
		}
	}
	if !ok {
		if ok, err = s.appOrRecoveryCode(ctx, u, code, recovery); err != nil {
			return err
		}
		if ok {
			kind = factorKind(recovery, false, true)
		}
	}
	if !ok {
		s.obs.CodeChecked(kind, false)
		s.secondFactorFailed(ctx, u, n)
		return s.refused(ctx, errCode, strongroom.AuditOTPFailure, u.ID, string(kind))
	}
	s.obs.CodeChecked(kind, true)
	if err := s.store.ResetSecondFactorFailures(ctx, u.ID); err != nil {
		return err
	}
	return s.audit(ctx, strongroom.AuditOTPVerified, strongroom.AuditSuccess, u.ID, string(kind))
}

// secondFactorFailed follows a wrong second factor that was the n-th in a
// row: each one that locks the second step mails the owner, since whoever
// tries knows the password.
func (s *Service) secondFactorFailed(ctx context.Context, u *strongroom.User, n int) {
	s.log.InfoContext(ctx, "second factor refused", "user_id", u.ID, "failures", n)
	if n%s.secondFactorLockout.MaxFailures != 0 {
		return
	}
	s.log.WarnContext(ctx, "second step locked after failed codes", "user_id", u.ID, "failures", n)
	s.obs.Locked(LockSecondFactor)
	s.notify(ctx, u, "Sign-in to Strongroom locked: wrong codes", fmt.Sprintf(
		"Someone gave your Strongroom password correctly and then %d wrong second-factor codes in a row,\n"+
			"so signing in is locked for %d minutes (each further wrong code locks it again).\n\n"+
			"If that was not you, someone knows your password: change it as soon as you can sign in.\n",
		n, int(s.secondFactorLockout.Window/time.Minute)))
}

// notifyFactorChange tells the owner that a second factor changed. The
// mail holds no secret.
func (s *Service) notifyFactorChange(ctx context.Context, u *strongroom.User, what, detail string) {
	s.notify(ctx, u, "Strongroom: "+strings.ToLower(what[:1])+what[1:], what+" on your Strongroom account ("+u.Username+") at "+
		s.now().UTC().Format(time.RFC1123)+".\n\n"+detail+"\n\n"+
		"If this was not you, someone has your password and a way into your account: sign in, change your password\n"+
		"and review your two-factor settings.\n")
}

// notify mails the owner a notice after the answer. A notice that cannot
// be sent is logged and does not undo what it reports.
func (s *Service) notify(ctx context.Context, u *strongroom.User, subject, body string) {
	s.afterAnswer(ctx, func(ctx context.Context) { _ = s.send(ctx, u, subject, body) })
}

func (s *Service) send(ctx context.Context, u *strongroom.User, subject, body string) error {
	err := s.cfg.Mailer.Send(ctx, strongroom.Mail{To: u.Email, Subject: subject, Body: body})
	if err != nil {
		s.log.WarnContext(ctx, "notice not delivered", "user_id", u.ID, "subject", subject, "err", err)
	}
	return err
}

// codeErr turns a store's KindNotFound into the operation's answer.
func codeErr(err, answer error) error {
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return answer
	}
	return err
}
