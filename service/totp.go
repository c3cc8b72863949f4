package service

import (
	"context"
	"strings"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/envelope"
	"github.com/strongroom/strongroom/otp"
)

// A TOTP secret is stored sealed under the user's data key, bound to the
// user and its purpose like a record.
func totpAAD(userID string) []byte { return envelope.RecordAAD(userID, "totp_secret", "totp") }

func (s *Service) sealTOTPSecret(ctx context.Context, userID, secret string) (string, error) {
	dek, err := s.dek(ctx, userID)
	if err != nil {
		return "", err
	}
	defer dek.Zero()
	enc, err := envelope.SealRecord(dek, s.rand, totpAAD(userID), []byte(secret))
	if err != nil {
		return "", strongroom.Internal("seal totp secret", err)
	}
	return enc, nil
}

func (s *Service) openTOTPSecret(ctx context.Context, userID, enc string) (string, error) {
	dek, err := s.dek(ctx, userID)
	if err != nil {
		return "", err
	}
	defer dek.Zero()
	pt, err := envelope.OpenRecord(dek, totpAAD(userID), enc)
	if err != nil {
		return "", strongroom.Internal("open totp secret", err)
	}
	return string(pt), nil
}

// TOTPSetup is a started authenticator setup.
type TOTPSetup struct {
	Secret string // base32
	URL    string // otpauth://
	// ID names this setup: GET /2fa/totp/qr and /2fa/totp/confirm need
	// it, so a bearer token alone can neither read the secret nor confirm.
	ID string
}

// SetupTOTP makes a new authenticator-app secret for the caller and keeps
// it, encrypted, until ConfirmTOTP proves the app has it (within 15
// minutes). A bearer token alone is not enough: it needs the password and,
// while a second factor is on, a current one (code), so a stolen token
// cannot replace the owner's authenticator.
func (s *Service) SetupTOTP(ctx context.Context, p *Principal, client, password, code string) (TOTPSetup, error) {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return TOTPSetup{}, err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return TOTPSetup{}, err
	}
	var out TOTPSetup
	if out.Secret, out.URL, err = otp.NewTOTP(s.rand, u.Username); err != nil {
		return TOTPSetup{}, strongroom.Internal("totp setup", err)
	}
	if out.ID, err = otp.NewChallenge(s.rand); err != nil {
		return TOTPSetup{}, strongroom.Internal("totp setup", err)
	}
	f := u.SecondFactors()
	if f.TOTPPending, err = s.sealTOTPSecret(ctx, u.ID, out.Secret); err != nil {
		return TOTPSetup{}, err
	}
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, f); err != nil {
		return TOTPSetup{}, err
	}
	now := s.now()
	if err := s.store.PutChallenge(ctx, &strongroom.Challenge{ID: strongroom.NewID(now), UserID: u.ID, Purpose: strongroom.PurposeTOTPSetup,
		LookupHash: otp.SetupHash(s.otpKey, out.ID), CreatedAt: now, ExpiresAt: now.Add(otp.SetupTTL)}); err != nil {
		return TOTPSetup{}, err
	}
	s.log.InfoContext(ctx, "authenticator setup started", "user_id", u.ID)
	return out, nil
}

// reauthenticate checks, for a change asked for with a bearer token, the
// password and, while a second factor is on, a current one. Wrong
// passwords count in the login lockout, wrong codes in the second-factor
// lockout.
func (s *Service) reauthenticate(ctx context.Context, p *Principal, u *strongroom.User, client, password, code string) error {
	code = strings.TrimSpace(code)
	var recovery string
	if u.TwoFactorEnabled {
		if code == "" {
			return strongroom.Invalid("otp", "otp is required while two-factor authentication is on: "+
				"an authenticator-app code, a recovery code, or an email code from /send-otp")
		}
		var err error
		if recovery, err = codeShape(code); err != nil {
			return err
		}
	}
	if err := s.limit(ctx, s.verifyAddr, client, "attempts"); err != nil {
		return err
	}
	if err := s.limit(ctx, s.verifyToken, p.TokenID, "attempts"); err != nil {
		return err
	}
	if err := s.checkPassword(ctx, client, u, password); err != nil {
		return err
	}
	if !u.TwoFactorEnabled {
		return nil
	}
	return s.checkCurrentFactor(ctx, u, code, recovery)
}

// errNoSetup answers a setup id that names no live setup of the caller.
var errNoSetup = strongroom.Errorf(strongroom.KindNotFound,
	"no such authenticator setup in progress (they last 15 minutes): POST /2fa/totp/setup first")

// pendingSetup returns the caller's authenticator setup that setupID names
// and its secret, or errNoSetup. Nothing is spent before it is found.
func (s *Service) pendingSetup(ctx context.Context, p *Principal, setupID string) (*strongroom.User, *strongroom.Challenge, string, error) {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return nil, nil, "", err
	}
	if !otp.ValidChallenge(setupID) || u.TOTPPendingSecret == "" {
		return nil, nil, "", errNoSetup
	}
	c, err := s.store.ChallengeByLookup(ctx, otp.SetupHash(s.otpKey, setupID), s.now())
	if err != nil {
		return nil, nil, "", codeErr(err, errNoSetup)
	}
	if c.UserID != u.ID || c.Purpose != strongroom.PurposeTOTPSetup || c.Attempts >= otp.MaxAttempts {
		return nil, nil, "", errNoSetup
	}
	secret, err := s.openTOTPSecret(ctx, u.ID, u.TOTPPendingSecret)
	if err != nil {
		return nil, nil, "", err
	}
	return u, c, secret, nil
}

// TOTPQRCode returns the pending setup's otpauth:// URL as a PNG QR code.
func (s *Service) TOTPQRCode(ctx context.Context, p *Principal, setupID string) ([]byte, error) {
	u, _, secret, err := s.pendingSetup(ctx, p, setupID)
	if err != nil {
		return nil, err
	}
	url, err := otp.TOTPURL(secret, u.Username)
	if err != nil {
		return nil, strongroom.Internal("totp url", err)
	}
	png, err := otp.QRCode(url, 256)
	if err != nil {
		return nil, strongroom.Internal("totp qr", err)
	}
	return png, nil
}

// ConfirmTOTP turns the authenticator app on once it shows a correct code
// for the pending secret of the setup that setupID names (5 tries), and
// returns 10 new recovery codes, shown this once and stored only hashed
// (earlier recovery codes stop working).
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, client, setupID, code string) ([]string, error) {
	code = strings.TrimSpace(code) // as every other code check: a pasted code's spaces
	if !otp.ValidFormat(code) {
		return nil, strongroom.Invalid("otp", "otp must be 6 digits")
	}
	if err := s.limit(ctx, s.verifyAddr, client, "attempts"); err != nil {
		return nil, err
	}
	u, c, secret, err := s.pendingSetup(ctx, p, setupID)
	if err != nil {
		return nil, err
	}
	if err := s.limit(ctx, s.verifyToken, p.TokenID, "attempts"); err != nil {
		return nil, err
	}
	if err := s.store.ClaimChallengeAttempt(ctx, c.ID, s.now(), otp.MaxAttempts); err != nil {
		return nil, codeErr(err, errNoSetup)
	}
	step, ok := otp.MatchTOTP(secret, code, s.now())
	s.obs.CodeChecked(CodeTOTP, ok)
	if !ok {
		return nil, s.refused(ctx, errCode, strongroom.AuditOTPFailure, u.ID, string(CodeTOTP))
	}
	if err := s.store.ConsumeChallenge(ctx, c.ID); err != nil {
		return nil, codeErr(err, errNoSetup)
	}
	if err := s.audit(ctx, strongroom.AuditOTPVerified, strongroom.AuditSuccess, u.ID, string(CodeTOTP)); err != nil {
		return nil, err
	}
	// The confirming code is used up: it cannot also complete a login. A
	// step already used (by the old app's code that allowed this setup, in
	// the same 30 seconds) is used up as well.
	if err := s.store.UseTOTPStep(ctx, u.ID, step); err != nil && !strongroom.IsKind(err, strongroom.KindConflict) {
		return nil, err
	}
	codes, hashes, err := s.newRecoveryCodes(u)
	if err != nil {
		return nil, err
	}
	// The factors first, from the read that found the pending secret: if
	// another change came between, this one is refused whole and no code
	// is replaced.
	f := u.SecondFactors()
	f.TOTP, f.TOTPSecret, f.TOTPPending = true, u.TOTPPendingSecret, ""
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, f); err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	s.log.InfoContext(ctx, "two-factor authentication by authenticator app enabled", "user_id", u.ID)
	what := "An authenticator app was set up"
	if u.TOTPEnabled {
		what = "Your authenticator app was replaced"
	}
	s.notifyFactorChange(ctx, u, what, "New recovery codes were made at the same time; the earlier ones no longer work.")
	// The codes are shown only if both changes are in the trail.
	if err := s.audit(ctx, strongroom.Audit2FAEnabled, strongroom.AuditSuccess, u.ID, string(CodeTOTP)); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, strongroom.AuditRecoveryReplaced, strongroom.AuditSuccess, u.ID, u.ID); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTwoFactor turns every second factor off and deletes the recovery
// codes, for a caller who gives the current password and a valid second
// factor: an app code, a recovery code, or an email code from send-otp.
func (s *Service) DisableTwoFactor(ctx context.Context, p *Principal, client, password, code string) error {
	code = strings.TrimSpace(code)
	if _, err := codeShape(code); err != nil {
		return err
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return err
	}
	if !u.TwoFactorEnabled {
		return strongroom.Errorf(strongroom.KindConflict, "two-factor authentication is not on")
	}
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, strongroom.SecondFactors{}); err != nil {
		return err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, nil); err != nil {
		return err
	}
	s.log.WarnContext(ctx, "two-factor authentication disabled", "user_id", u.ID)
	s.notifyFactorChange(ctx, u, "Two-factor authentication was turned off",
		"Signing in now needs only your password, and your recovery codes no longer work.\n"+
			"Every other session of your account was ended.")
	// Every other session ends: a second factor no longer guards the
	// account, so whoever holds another of its tokens must show the
	// password again.
	// The sessions end whether or not the event can be stored, and the
	// event is recorded whether or not they could all be ended.
	serr := s.endOtherSessions(ctx, p, u, strongroom.EndTwoFactorOff)
	if err := s.audit(ctx, strongroom.Audit2FADisabled, strongroom.AuditSuccess, u.ID, u.ID); err != nil {
		return err
	}
	return serr
}

// newRecoveryCodes makes a fresh set of u's recovery codes and their
// keyed hashes.
func (s *Service) newRecoveryCodes(u *strongroom.User) (codes, hashes []string, err error) {
	codes, err = otp.NewRecoveryCodes(s.rand, otp.RecoveryCodes)
	if err != nil {
		return nil, nil, strongroom.Internal("recovery codes", err)
	}
	hashes = make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = otp.RecoveryHash(s.otpKey, u.ID, c)
	}
	return codes, hashes, nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes with 10
// new ones, shown this once, for a caller who gives the password and a
// current second factor; the old codes stop working. The owner is mailed
// a notice.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *Principal, client, password, code string) ([]string, error) {
	code = strings.TrimSpace(code)
	if _, err := codeShape(code); err != nil {
		return nil, err
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return nil, err
	}
	if err := s.reauthenticate(ctx, p, u, client, password, code); err != nil {
		return nil, err
	}
	if !u.TwoFactorEnabled {
		return nil, strongroom.Errorf(strongroom.KindConflict, "two-factor authentication is not on: recovery codes come with it")
	}
	codes, hashes, err := s.newRecoveryCodes(u)
	if err != nil {
		return nil, err
	}
	// The same factors, written only if no change came since the read that
	// found 2FA on: codes are not made for an account that just turned it
	// off.
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, u.SecondFactors()); err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	s.log.WarnContext(ctx, "recovery codes replaced", "user_id", u.ID)
	s.notifyFactorChange(ctx, u, "New recovery codes were made", "The earlier recovery codes no longer work.")
	if err := s.audit(ctx, strongroom.AuditRecoveryReplaced, strongroom.AuditSuccess, u.ID, u.ID); err != nil {
		return nil, err
	}
	return codes, nil
}
