package service

import (
	"context"
	"fmt"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/otp"
)

// errCode is the one answer to a wrong, expired, used or missing code.
var errCode = strongroom.Errorf(strongroom.KindUnauthorized, "invalid or expired one-time code")

// mailCode makes a fresh code for the user and purpose (replacing any
// earlier one) and mails it. If the mail cannot be sent the code is removed,
// so no code exists that its owner never received.
func (s *Service) mailCode(ctx context.Context, u *strongroom.User, purpose strongroom.Purpose) error {
	if ok, wait := s.sendUser.Allow(u.ID); !ok {
		return &strongroom.Error{Kind: strongroom.KindLocked, Message: "too many codes requested; try again later", RetryAfter: wait}
	}
	code, err := otp.NewCode(s.rand)
	if err != nil {
		return strongroom.Internal("new code", err)
	}
	now := s.now()
	c := &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(otp.TTL)}
	c.CodeHash = otp.Hash(s.cfg.OTPKey, c.ID, code)
	if err := s.store.PutChallenge(ctx, c); err != nil {
		return err
	}
	m := strongroom.Mail{
		To:      u.Email,
		Subject: "Your Strongroom verification code",
		Body: fmt.Sprintf("Your Strongroom verification code is %s.\n\nIt expires in %d minutes and works once.\n"+
			"If you did not ask for it, someone knows your password: change it.\n", code, int(otp.TTL/time.Minute)),
	}
	if err := s.cfg.Mailer.Send(ctx, m); err != nil {
		if cerr := s.store.ConsumeChallenge(context.WithoutCancel(ctx), c.ID); cerr != nil && !strongroom.IsKind(cerr, strongroom.KindNotFound) {
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
// whose password was already accepted; for anyone else it does nothing,
// with the same answer, so it tells nothing about which accounts exist.
// client is the caller's address, for the rate limit.
func (s *Service) SendOTP(ctx context.Context, p *Principal, client, username string) error {
	if ok, wait := s.sendAddr.Allow(client); !ok {
		return &strongroom.Error{Kind: strongroom.KindLocked, Message: "too many requests; try again later", RetryAfter: wait}
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

// VerifyOTP checks a one-time code and returns a token. With a bearer token
// it completes enrollment and turns 2FA on; without one it completes a login
// whose password was accepted within the code's lifetime. A code works once;
// five wrong tries burn it.
func (s *Service) VerifyOTP(ctx context.Context, p *Principal, username, code string) (string, error) {
	if !otp.ValidFormat(code) {
		return "", strongroom.Invalid("otp", "otp must be 6 digits")
	}
	username = strongroom.NormalizeUsername(username)
	var u *strongroom.User
	purpose := strongroom.PurposeLogin
	var err error
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
	now := s.now()
	c, err := s.store.Challenge(ctx, u.ID, purpose, now)
	if err != nil {
		return "", codeErr(err)
	}
	if err := s.store.ClaimChallengeAttempt(ctx, c.ID, now, otp.MaxAttempts); err != nil {
		return "", codeErr(err)
	}
	if !otp.Check(s.cfg.OTPKey, c.ID, code, c.CodeHash) {
		s.log.Info("one-time code refused", "user_id", u.ID, "purpose", string(purpose))
		return "", errCode
	}
	if err := s.store.ConsumeChallenge(ctx, c.ID); err != nil {
		return "", codeErr(err)
	}
	if purpose == strongroom.PurposeEnroll && !u.TwoFactorEnabled {
		if err := s.store.SetTwoFactor(ctx, u.ID, true); err != nil {
			return "", err
		}
		s.log.Info("two-factor authentication enabled", "user_id", u.ID)
	}
	tok, err := s.issue(u.ID)
	if err != nil {
		return "", err
	}
	s.log.Info("one-time code accepted", "user_id", u.ID, "purpose", string(purpose))
	return tok, nil
}

func codeErr(err error) error {
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return errCode
	}
	return err
}
