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

// newChallenge stores a fresh challenge for the user and purpose, replacing
// any earlier one, and returns its id and the code that goes with it (no
// code is kept in clear: only its keyed hash is stored).
func (s *Service) newChallenge(ctx context.Context, u *strongroom.User, purpose strongroom.Purpose) (id, code string, err error) {
	code, err = otp.NewCode(s.rand)
	if err != nil {
		return "", "", strongroom.Internal("new code", err)
	}
	now := s.now()
	c := &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(otp.TTL)}
	c.CodeHash = otp.Hash(s.cfg.OTPKey, c.ID, code)
	if err := s.store.PutChallenge(ctx, c); err != nil {
		return "", "", err
	}
	return c.ID, code, nil
}

// mailCode makes a fresh code for the user and purpose and mails it. If
// the mail cannot be sent the code is removed, so no code exists that its
// owner never received.
func (s *Service) mailCode(ctx context.Context, u *strongroom.User, purpose strongroom.Purpose) error {
	if err := limit(s.sendUser, u.ID, "codes requested"); err != nil {
		return err
	}
	id, code, err := s.newChallenge(ctx, u, purpose)
	if err != nil {
		return err
	}
	m := strongroom.Mail{
		To:      u.Email,
		Subject: "Your Strongroom verification code",
		Body: fmt.Sprintf("Your Strongroom verification code is %s.\n\nIt expires in %d minutes and works once.\n"+
			"If you did not ask for it, someone knows your password: change it.\n", code, int(otp.TTL/time.Minute)),
	}
	if err := s.cfg.Mailer.Send(ctx, m); err != nil {
		if cerr := s.store.ConsumeChallenge(context.WithoutCancel(ctx), id); cerr != nil && !strongroom.IsKind(cerr, strongroom.KindNotFound) {
			s.log.Error("could not remove an unsent code", "user_id", u.ID, "err", cerr)
		}
		s.log.Error("one-time code not delivered", "user_id", u.ID, "purpose", string(purpose), "err", err)
		if strongroom.ErrorKind(err) != strongroom.KindUnavailable {
			err = strongroom.Unavailable("the code could not be mailed; try again later", err)
		}
		return err
	}
	s.log.Info("one-time code sent", "user_id", u.ID, "purpose", string(purpose))
	return nil
}

// SendOTP mails a one-time code. With a bearer token (p) it starts email
// 2FA enrollment for that user. Without one it re-sends the code of a login
// whose password was already accepted, for an account with email as a
// factor; for anyone else it does nothing, with the same answer, so it
// tells nothing about which accounts exist. client is the caller's address.
func (s *Service) SendOTP(ctx context.Context, p *Principal, client, username string) error {
	if err := limit(s.sendAddr, client, "requests"); err != nil {
		return err
	}
	username = strongroom.NormalizeUsername(username)
	if p != nil {
		u, err := s.principalUser(ctx, p, username)
		if err != nil {
			return err
		}
		return s.mailCode(ctx, u, strongroom.PurposeEnroll)
	}
	u, err := s.store.UserByUsername(ctx, username)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.EmailOTPEnabled {
		return nil
	}
	if _, err := s.store.Challenge(ctx, u.ID, strongroom.PurposeLogin, s.now()); err != nil {
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return nil
		}
		return err
	}
	return s.mailCode(ctx, u, strongroom.PurposeLogin)
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
// it completes email enrollment and turns email 2FA on; without one it
// completes a login whose password was accepted within the last 5 minutes,
// with a mailed code, an authenticator-app code or a recovery code. Every
// code works once; five wrong tries burn the challenge.
func (s *Service) VerifyOTP(ctx context.Context, p *Principal, client, username, code string) (string, error) {
	code = strings.TrimSpace(code)
	recovery, err := codeShape(code)
	if err != nil {
		return "", err
	}
	if err := limit(s.verifyAddr, client, "attempts"); err != nil {
		return "", err
	}
	username = strongroom.NormalizeUsername(username)
	var u *strongroom.User
	purpose := strongroom.PurposeLogin
	if p != nil {
		purpose = strongroom.PurposeEnroll
		u, err = s.principalUser(ctx, p, username)
	} else {
		u, err = s.store.UserByUsername(ctx, username)
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return "", errCode
		}
	}
	if err != nil {
		return "", err
	}
	if err := limit(s.verifyUser, u.ID, "attempts"); err != nil {
		return "", err
	}
	now := s.now()
	c, err := s.store.Challenge(ctx, u.ID, purpose, now)
	if err != nil {
		return "", codeErr(err)
	}
	if err := s.store.ClaimChallengeAttempt(ctx, c.ID, now, otp.MaxAttempts); err != nil {
		return "", codeErr(err)
	}
	ok := recovery == "" && otp.Check(s.cfg.OTPKey, c.ID, code, c.CodeHash)
	if !ok && purpose == strongroom.PurposeLogin {
		if ok, err = s.appOrRecoveryCode(ctx, u, code, recovery); err != nil {
			return "", err
		}
	}
	if !ok {
		s.log.Info("one-time code refused", "user_id", u.ID, "purpose", string(purpose))
		return "", errCode
	}
	if err := s.store.ConsumeChallenge(ctx, c.ID); err != nil {
		return "", codeErr(err)
	}
	if purpose == strongroom.PurposeEnroll && !u.EmailOTPEnabled {
		f := u.SecondFactors()
		f.EmailOTP = true
		if err := s.store.SetSecondFactors(ctx, u.ID, f); err != nil {
			return "", err
		}
		s.log.Info("two-factor authentication by email enabled", "user_id", u.ID)
	}
	tok, err := s.issue(u.ID)
	if err != nil {
		return "", err
	}
	s.log.Info("second factor accepted", "user_id", u.ID, "purpose", string(purpose))
	return tok, nil
}

// appOrRecoveryCode checks code as the user's recovery code (recovery is
// its canonical form) or as an authenticator-app code, and uses it up.
func (s *Service) appOrRecoveryCode(ctx context.Context, u *strongroom.User, code, recovery string) (bool, error) {
	if recovery != "" {
		err := s.store.UseRecoveryCode(ctx, u.ID, otp.RecoveryHash(s.cfg.OTPKey, u.ID, recovery))
		if strongroom.IsKind(err, strongroom.KindNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		s.log.Warn("recovery code used", "user_id", u.ID)
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
		s.log.Warn("authenticator code replayed", "user_id", u.ID)
		return false, nil
	}
	return err == nil, err
}

func codeErr(err error) error {
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return errCode
	}
	return err
}
