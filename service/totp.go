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
	pt, err := envelope.OpenRecord(dek, totpAAD(userID), enc)
	if err != nil {
		return "", strongroom.Internal("open totp secret", err)
	}
	return string(pt), nil
}

// SetupTOTP makes a new authenticator-app secret for the caller and keeps
// it, encrypted, until ConfirmTOTP proves the app has it. A bearer token
// alone is not enough: it needs the password and, while a second factor
// is on, a current one (code), so a stolen token cannot replace the
// owner's authenticator. It returns the secret and its otpauth:// URL.
func (s *Service) SetupTOTP(ctx context.Context, p *Principal, client, password, code string) (secret, url string, err error) {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return "", "", err
	}
	if err := s.reauthenticate(ctx, u, client, password, code); err != nil {
		return "", "", err
	}
	secret, url, err = otp.NewTOTP(s.rand, u.Username)
	if err != nil {
		return "", "", strongroom.Internal("totp setup", err)
	}
	f := u.SecondFactors()
	if f.TOTPPending, err = s.sealTOTPSecret(ctx, u.ID, secret); err != nil {
		return "", "", err
	}
	if err := s.store.SetSecondFactors(ctx, u.ID, u.FactorsVersion, f); err != nil {
		return "", "", err
	}
	s.log.Info("authenticator setup started", "user_id", u.ID)
	return secret, url, nil
}

// reauthenticate checks, for a change asked for with a bearer token, the
// password and, while a second factor is on, a current one. Wrong
// passwords count in the login lockout, wrong codes in the second-factor
// lockout.
func (s *Service) reauthenticate(ctx context.Context, u *strongroom.User, client, password, code string) error {
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
	if err := limit(s.verifyAddr, client, "attempts"); err != nil {
		return err
	}
	if err := limit(s.verifyUser, u.ID, "attempts"); err != nil {
		return err
	}
	if err := s.checkPassword(ctx, u, password); err != nil {
		return err
	}
	if !u.TwoFactorEnabled {
		return nil
	}
	return s.checkCurrentFactor(ctx, u, code, recovery)
}

// pendingTOTPSecret is the secret of the user's authenticator setup in
// progress, or KindNotFound.
func (s *Service) pendingTOTPSecret(ctx context.Context, u *strongroom.User) (string, error) {
	if u.TOTPPendingSecret == "" {
		return "", strongroom.Errorf(strongroom.KindNotFound, "no authenticator setup in progress: POST /2fa/totp/setup first")
	}
	return s.openTOTPSecret(ctx, u.ID, u.TOTPPendingSecret)
}

// TOTPQRCode returns the pending setup's otpauth:// URL as a PNG QR code.
func (s *Service) TOTPQRCode(ctx context.Context, p *Principal) ([]byte, error) {
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return nil, err
	}
	secret, err := s.pendingTOTPSecret(ctx, u)
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
// for the pending secret, and returns 10 new recovery codes, shown this
// once and stored only hashed (earlier recovery codes stop working).
func (s *Service) ConfirmTOTP(ctx context.Context, p *Principal, client, code string) ([]string, error) {
	if !otp.ValidFormat(code) {
		return nil, strongroom.Invalid("otp", "otp must be 6 digits")
	}
	u, err := s.principalUser(ctx, p, "")
	if err != nil {
		return nil, err
	}
	if err := limit(s.verifyAddr, client, "attempts"); err != nil {
		return nil, err
	}
	if err := limit(s.verifyUser, u.ID, "attempts"); err != nil {
		return nil, err
	}
	secret, err := s.pendingTOTPSecret(ctx, u)
	if err != nil {
		return nil, err
	}
	step, ok := otp.MatchTOTP(secret, code, s.now())
	if !ok {
		return nil, errCode
	}
	// The confirming code is used up: it cannot also complete a login. A
	// step already used (by the old app's code that allowed this setup, in
	// the same 30 seconds) is used up as well.
	if err := s.store.UseTOTPStep(ctx, u.ID, step); err != nil && !strongroom.IsKind(err, strongroom.KindConflict) {
		return nil, err
	}
	codes, err := otp.NewRecoveryCodes(s.rand, otp.RecoveryCodes)
	if err != nil {
		return nil, strongroom.Internal("recovery codes", err)
	}
	hashes := make([]string, len(codes))
	for i, c := range codes {
		hashes[i] = otp.RecoveryHash(s.cfg.OTPKey, u.ID, c)
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
	s.log.Info("two-factor authentication by authenticator app enabled", "user_id", u.ID)
	what := "An authenticator app was set up"
	if u.TOTPEnabled {
		what = "Your authenticator app was replaced"
	}
	s.notifyFactorChange(u, what, "New recovery codes were made at the same time; the earlier ones no longer work.")
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
	if err := s.reauthenticate(ctx, u, client, password, code); err != nil {
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
	s.log.Warn("two-factor authentication disabled", "user_id", u.ID)
	s.notifyFactorChange(u, "Two-factor authentication was turned off",
		"Signing in now needs only your password, and your recovery codes no longer work.")
	return nil
}
