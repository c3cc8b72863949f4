package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/otp"
	"github.com/strongroom/strongroom/passkey"
)

// PasskeyView is a passkey as its owner sees it: no key material.
type PasskeyView struct {
	ID         string
	Name       string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero if never used
	Synced     bool      // backed up to other devices (a synced passkey)
}

// errNoPasskeys answers every passkey call when no public URL is set.
var errNoPasskeys = strongroom.Errorf(strongroom.KindUnavailable,
	"passkeys are not set up on this server (STRONGROOM_PUBLIC_URL)")

// errPasskeyLogin is the one answer to a passkey sign-in that fails, for
// whatever reason: no stranger learns which credentials exist.
var errPasskeyLogin = strongroom.Errorf(strongroom.KindUnauthorized, "passkey sign-in failed; start again")

// errPasskeyRefused answers a registration whose answer is not a
// credential made for this site with user verification.
var errPasskeyRefused = strongroom.Errorf(strongroom.KindUnauthorized,
	"the authenticator's answer did not verify (made for another site, or without user verification?)")

// errNoRegistration answers a registration whose challenge this session
// did not begin, or began more than passkey.Timeout ago, or finished.
var errNoRegistration = strongroom.Errorf(strongroom.KindNotFound,
	"no passkey registration in progress for this session (they last 5 minutes): ask for new options")

// UsePasskeys turns passkeys on, for the relying party rp (its origin is
// the one users reach the server at, known only once it listens). Call it
// before serving.
func (s *Service) UsePasskeys(rp *passkey.RP) { s.passkeys = rp }

func (s *Service) rp() (*passkey.RP, error) {
	if s.passkeys == nil {
		return nil, errNoPasskeys
	}
	return s.passkeys, nil
}

// PasskeyRegistrationOptions starts adding a passkey to the caller's
// account. Like every change of how one signs in, it needs the password
// and, while a second factor is on, a current one: a stolen bearer token
// cannot add a way in. The options are for navigator.credentials.create;
// FinishPasskeyRegistration takes the answer, from this session only,
// within passkey.Timeout.
func (s *Service) PasskeyRegistrationOptions(ctx context.Context, p *Principal, client, password, code string) (json.RawMessage, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return nil, err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return nil, err
	}
	have, err := s.store.Passkeys(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if len(have) >= strongroom.MaxPasskeys { // the store checks again as it adds one
		return nil, strongroom.ErrPasskeyLimit
	}
	exclude := make([][]byte, len(have))
	for i, pk := range have {
		exclude[i] = pk.CredentialID
	}
	c, err := rp.BeginRegistration(u.ID, u.Username, exclude)
	if err != nil {
		return nil, strongroom.Internal("passkey options", err)
	}
	now := s.now()
	if err := s.store.PutCeremony(ctx, otp.PasskeyRegistrationHash(s.otpKey, p.TokenID, c.Challenge), now, now.Add(passkey.Timeout)); err != nil {
		return nil, err
	}
	return c.Options, nil
}

// FinishPasskeyRegistration checks the browser's answer to the options
// this session was given and stores the passkey under name ("Passkey" if
// empty). The owner is mailed a notice.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p *Principal, client, name string, credential []byte) (PasskeyView, error) {
	rp, err := s.rp()
	if err != nil {
		return PasskeyView{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	if err := strongroom.ValidatePasskeyName(name); err != nil {
		return PasskeyView{}, err
	}
	reg, err := passkey.ParseRegistration(credential)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "user_id", p.UserID, "err", err)
		return PasskeyView{}, errPasskeyRefused
	}
	if err := s.limit(ctx, s.verifyToken, p.TokenID, "attempts"); err != nil {
		return PasskeyView{}, err
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return PasskeyView{}, err
	}
	// The challenge is taken before the answer is checked: each is one try.
	err = s.store.TakeCeremony(ctx, otp.PasskeyRegistrationHash(s.otpKey, p.TokenID, reg.Challenge), s.now())
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		return PasskeyView{}, errNoRegistration
	}
	if err != nil {
		return PasskeyView{}, err
	}
	pk, err := rp.Verify(reg, u.ID)
	if err != nil {
		s.log.InfoContext(ctx, "passkey registration refused", "user_id", u.ID, "err", err)
		return PasskeyView{}, errPasskeyRefused
	}
	now := s.now()
	pk.ID, pk.Name, pk.CreatedAt = strongroom.NewID(now), name, now.UTC()
	if err := s.store.AddPasskey(ctx, pk, strongroom.MaxPasskeys); err != nil {
		return PasskeyView{}, err
	}
	s.log.InfoContext(ctx, "passkey added", "user_id", u.ID, "passkey_id", pk.ID)
	s.notifyFactorChange(ctx, u, "A passkey was added", "Its name: "+strings.ToValidUTF8(pk.Name, "")+
		". It signs in to your account without your password.")
	if err := s.audit(ctx, strongroom.AuditPasskeyAdded, strongroom.AuditSuccess, u.ID, pk.ID); err != nil {
		return PasskeyView{}, err
	}
	return passkeyView(pk), nil
}

func passkeyView(pk *strongroom.Passkey) PasskeyView {
	return PasskeyView{ID: pk.ID, Name: pk.Name, CreatedAt: pk.CreatedAt, LastUsedAt: pk.LastUsedAt, Synced: pk.BackupState}
}

// Passkeys lists the caller's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context, p *Principal) ([]PasskeyView, error) {
	list, err := s.store.Passkeys(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]PasskeyView, len(list))
	for i, pk := range list {
		out[i] = passkeyView(pk)
	}
	return out, nil
}

// DeletePasskey removes one of the caller's passkeys. It needs the
// password (and a current second factor while one is on), like adding
// one, and ends every other session of the account, as a password change
// does: a session someone opened with the passkey (a lost or stolen
// device) ends with it. The owner is mailed a notice.
func (s *Service) DeletePasskey(ctx context.Context, p *Principal, client, id, password, code string) error {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return err
	}
	if err := s.store.DeletePasskey(ctx, u.ID, id); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "passkey removed", "user_id", u.ID, "passkey_id", id)
	s.notifyFactorChange(ctx, u, "A passkey was removed", "It no longer signs in to your account, and every other session of your account was ended.")
	// The sessions end whether or not the event can be stored, and the
	// event is recorded whether or not they could all be ended.
	serr := s.endOtherSessions(ctx, p, u, strongroom.EndPasskeyRemoved)
	if err := s.audit(ctx, strongroom.AuditPasskeyRemoved, strongroom.AuditSuccess, u.ID, id); err != nil {
		return err
	}
	return serr
}

// PasskeyLoginOptions starts a sign-in with a passkey, for anyone: the
// options are for navigator.credentials.get, and name no account (the
// authenticator offers the passkeys it holds for this site).
func (s *Service) PasskeyLoginOptions(ctx context.Context, client string) (json.RawMessage, error) {
	rp, err := s.rp()
	if err != nil {
		return nil, err
	}
	// Each start stores a challenge for 5 minutes: counted per address.
	if err := s.limit(ctx, s.verifyAddr, client, "attempts"); err != nil {
		return nil, err
	}
	c, err := rp.BeginLogin()
	if err != nil {
		return nil, strongroom.Internal("passkey options", err)
	}
	now := s.now()
	if err := s.store.PutCeremony(ctx, otp.PasskeyLoginHash(s.otpKey, c.Challenge), now, now.Add(passkey.Timeout)); err != nil {
		return nil, err
	}
	return c.Options, nil
}

// PasskeyLogin signs in with a passkey's answer to PasskeyLoginOptions:
// both factors at once, no password or code. Each challenge is answered
// once, and each counter value of a passkey is accepted once. Every
// failure answers alike (errPasskeyLogin). An answer that does not verify
// for a stored passkey counts in its account's login lockout, like a wrong
// password (the one that locks mails the unlock code). A verified answer
// is never refused by a lockout: the lockouts stop guesses, and a
// signature is no guess, so no one who has only the username or only the
// password can lock the owner's passkey out; it clears both counts, as a
// right password and a right code do.
func (s *Service) PasskeyLogin(ctx context.Context, client string, credential []byte) (tok string, err error) {
	defer func() { s.obs.Login(loginOutcome(LoginResult{Token: tok}, err)) }()
	rp, err := s.rp()
	if err != nil {
		return "", err
	}
	if err := s.limit(ctx, s.verifyAddr, client, "attempts"); err != nil {
		return "", err
	}
	a, err := passkey.ParseAssertion(credential)
	if err != nil {
		s.log.InfoContext(ctx, "passkey sign-in refused", "err", err)
		return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, "", "")
	}
	now := s.now()
	err = s.store.TakeCeremony(ctx, otp.PasskeyLoginHash(s.otpKey, a.Challenge), now)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		s.log.InfoContext(ctx, "passkey sign-in refused: no such challenge")
		return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, "", "")
	}
	if err != nil {
		return "", err
	}
	pk, err := s.store.PasskeyByCredential(ctx, a.CredentialID)
	if strongroom.IsKind(err, strongroom.KindNotFound) {
		s.log.InfoContext(ctx, "passkey sign-in refused: unknown credential")
		return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, "", "")
	}
	if err != nil {
		return "", err
	}
	u, err := s.store.UserByID(ctx, pk.UserID)
	if strongroom.IsKind(err, strongroom.KindNotFound) || err == nil && s.beingDeleted(u.ID) {
		return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, "", "")
	}
	if err != nil {
		return "", err
	}
	use, err := rp.VerifyAssertion(a, pk)
	if err == nil {
		// One counter value, one sign-in: of two answers made with the
		// same one (a cloned authenticator), the store takes one.
		err = s.store.UsePasskey(ctx, u.ID, pk.ID, pk.SignCount, use.SignCount, use.BackupState, now.UTC())
		if strongroom.IsKind(err, strongroom.KindNotFound) { // removed meanwhile
			return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, u.ID, pk.ID)
		}
		if err != nil && !errors.Is(err, strongroom.ErrPasskeyUsed) {
			return "", err
		}
	}
	if err != nil {
		s.log.WarnContext(ctx, "passkey sign-in refused", "user_id", u.ID, "passkey_id", pk.ID, "err", err)
		n, cerr := s.store.ClaimLoginAttempt(ctx, u.ID, now, s.cfg.Lockout)
		switch {
		case cerr == nil:
			s.passwordFailed(ctx, u, n)
		case !strongroom.IsKind(cerr, strongroom.KindLocked): // locked already: counted enough
			return "", cerr
		}
		return "", s.refused(ctx, errPasskeyLogin, strongroom.AuditLoginFailure, u.ID, pk.ID)
	}
	if err := s.store.ResetLoginFailures(ctx, u.ID); err != nil {
		return "", err
	}
	if u.SecondFactorFailures > 0 {
		if err := s.store.ResetSecondFactorFailures(ctx, u.ID); err != nil {
			return "", err
		}
	}
	tok, err = s.grant(ctx, u, client)
	if err != nil {
		return "", err
	}
	s.log.InfoContext(ctx, "login succeeded with a passkey", "user_id", u.ID, "passkey_id", pk.ID)
	return tok, nil
}
