package service

import (
	"context"
	"errors"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/password"
)

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
		err = s.store.CreateUser(ctx, u, wrapped, true)
		if err == nil {
			break
		}
		if !errors.Is(err, strongroom.ErrStaleKey) || try == 2 {
			return err
		}
	}
	s.deks.Put(u.ID, dek)
	s.log.Info("user registered", "user_id", u.ID, "admin", s.isAdmin(u))
	return nil
}

func passwordErr(err error) error {
	if errors.Is(err, password.ErrBusy) {
		return strongroom.Unavailable("server busy; try again shortly", err)
	}
	return strongroom.Internal("password", err)
}

// LoginResult is a token, or the news that a second factor is needed (a
// code has been mailed).
type LoginResult struct {
	Token             string
	TwoFactorRequired bool
	CodeMailed        bool // the second factor is a mailed code (else an app or recovery code)
}

// Login checks a password. Unknown users and wrong passwords get the same
// error after the same work; the lockout counts the attempt before the
// password is checked. client is the caller's address: the per-address
// limits apply to it, and a login that mails a code counts against its
// mail limit.
func (s *Service) Login(ctx context.Context, client, username, pw string) (LoginResult, error) {
	// A place in the hashing pool first: when the server is saturated with
	// logins, the answer is a fast 503 that has cost no store work and has
	// not counted against the account's lockout.
	slot, err := s.passwordSlot(ctx, client)
	if err != nil {
		return LoginResult{}, err
	}
	defer slot.Release()
	username = strongroom.NormalizeUsername(username)
	u, err := s.store.UserByUsername(ctx, username)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		slot.VerifyDummy(pw)
		return LoginResult{}, errLogin
	}
	if err != nil {
		return LoginResult{}, err
	}
	if err := s.store.ClaimLoginAttempt(ctx, u.ID, s.now(), s.cfg.Lockout); err != nil {
		if strongroom.IsKind(err, strongroom.KindLocked) {
			s.log.Warn("login refused: account locked", "user_id", u.ID)
		}
		return LoginResult{}, err
	}
	if !slot.Verify(pw, u.HashedPassword, u.Salt) {
		s.log.Info("login failed: wrong password", "user_id", u.ID)
		return LoginResult{}, errLogin
	}
	if err := s.store.ResetLoginFailures(ctx, u.ID); err != nil {
		return LoginResult{}, err
	}
	if u.TwoFactorEnabled {
		// The challenge records that the password was accepted; with email
		// as a factor it also carries a mailed code.
		if u.EmailOTPEnabled {
			if err := limit(s.sendAddr, client, "requests"); err != nil {
				return LoginResult{}, err
			}
			err = s.mailCode(ctx, u, strongroom.PurposeLogin)
		} else {
			_, _, err = s.newChallenge(ctx, u, strongroom.PurposeLogin)
		}
		if err != nil {
			return LoginResult{}, err
		}
		s.log.Info("login: password accepted, second factor required", "user_id", u.ID)
		return LoginResult{TwoFactorRequired: true, CodeMailed: u.EmailOTPEnabled}, nil
	}
	tok, err := s.issue(u.ID)
	if err != nil {
		return LoginResult{}, err
	}
	s.log.Info("login succeeded", "user_id", u.ID)
	return LoginResult{Token: tok}, nil
}

func (s *Service) issue(userID string) (string, error) {
	tok, _, err := s.cfg.Tokens.Issue(userID)
	if err != nil {
		return "", strongroom.Internal("issue token", err)
	}
	return tok, nil
}
