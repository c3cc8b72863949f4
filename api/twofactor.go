package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom/service"
)

type (
	sendOTPBody struct {
		Username  usernameOrOwn `json:"username" example:"testuser" doc:"with a bearer token, the token's own username (or empty for it)"`
		Challenge challenge     `json:"challenge,omitempty" doc:"without a bearer token: the challenge /login answered"`
	}
	otpBody struct {
		Username  usernameOrOwn `json:"username" example:"testuser" doc:"with a bearer token, the token's own username (or empty for it)"`
		OTP       secondFactor  `json:"otp" example:"123456"`
		Challenge challenge     `json:"challenge,omitempty" doc:"without a bearer token: the challenge /login answered"`
	}
	totpSetupOut struct {
		Body struct {
			Secret     string `json:"secret" doc:"base32, for typing into an authenticator app"`
			OTPAuthURL string `json:"otpauth_url" example:"otpauth://totp/Strongroom:testuser?secret=...&issuer=Strongroom"`
			SetupID    string `json:"setup_id" doc:"names this setup for /2fa/totp/qr and /2fa/totp/confirm; valid 15 minutes"`
		}
	}
	qrOut struct {
		ContentType string `header:"Content-Type"`
		Body        []byte
	}
	confirmBody struct {
		SetupID challenge `json:"setup_id" doc:"from /2fa/totp/setup"`
		OTP     sixDigits `json:"otp" example:"123456" doc:"the app's current code"`
	}
	qrIn struct {
		SetupID challenge `query:"setup_id" required:"true" doc:"from /2fa/totp/setup"`
	}
	confirmOut struct {
		Body struct {
			Message       string   `json:"message"`
			RecoveryCodes []string `json:"recovery_codes" doc:"10 single-use codes, shown this once"`
		}
	}
	// factorBody is a change that needs the password and a current factor.
	factorBody struct {
		Password password     `json:"password"`
		OTP      secondFactor `json:"otp" doc:"an app code, a recovery code, or an email code from /send-otp"`
	}
	recoveryCodesOut struct {
		Body struct {
			RecoveryCodes []string `json:"recovery_codes" doc:"10 single-use codes, shown this once; the earlier ones no longer work"`
		}
	}
)

func (s *Server) twoFactorRoutes() {
	handle(s, huma.Operation{
		OperationID: "send-otp", Method: http.MethodPost, Path: "/send-otp", Tags: []string{"two-factor"},
		Summary: "Mail a one-time code",
		Description: "With a bearer token: mails a code for email two-factor enrollment (or to confirm a change) to that user. " +
			"Without: re-sends the code of the login that `challenge` names; without a valid challenge it is refused (401), " +
			"the same whether or not the user exists, and nothing is sent.",
		Errors: []int{c401, c403, c409, c429, c503},
	}, anyoneOrToken, func(ctx context.Context, p *service.Principal, in *struct{ Body sendOTPBody }) (*messageOut, error) {
		if err := s.svc.SendOTP(ctx, p, client(ctx), string(in.Body.Username), string(in.Body.Challenge)); err != nil {
			return nil, err
		}
		return message("OTP sent to your email"), nil
	})

	handle(s, huma.Operation{
		OperationID: "verify-otp", Method: http.MethodPost, Path: "/verify-otp", Tags: []string{"two-factor"},
		Summary: "Check a second factor and get a token",
		Description: "With a bearer token: completes email enrollment and turns two-factor authentication on, for an account without it " +
			"(409 if it is on: a token and the mailbox cannot add a factor or mint fresh tokens). Without: completes " +
			"the login that `challenge` names (its password was accepted), with the mailed code, an authenticator-app code or a recovery " +
			"code (XXXXX-XXXXX); without a valid challenge no code is looked at (401, the same whether or not the user exists). " +
			"Every code works once; five wrong tries burn the login; ten wrong second factors in a row lock the second step " +
			"for 15 minutes (429) and mail the owner.",
		Errors: []int{c401, c403, c409, c429, c503},
	}, anyoneOrToken, func(ctx context.Context, p *service.Principal, in *struct{ Body otpBody }) (*tokenOut, error) {
		tok, err := s.svc.VerifyOTP(ctx, p, client(ctx), string(in.Body.Username), string(in.Body.Challenge), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		return token(tok), nil
	})

	handle(s, huma.Operation{
		OperationID: "totp-setup", Method: http.MethodPost, Path: "/2fa/totp/setup", Tags: []string{"two-factor"},
		Summary: "Start setting up an authenticator app",
		Description: "Makes a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s). It takes effect after /2fa/totp/confirm. " +
			"Needs the password and, while a second factor is on, a current one: a bearer token alone cannot replace the authenticator.",
		Errors: []int{c403, c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body reauthBody }) (*totpSetupOut, error) {
		setup, err := s.svc.SetupTOTP(ctx, p, client(ctx), string(in.Body.Password), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		out := &totpSetupOut{}
		out.Body.Secret, out.Body.OTPAuthURL, out.Body.SetupID = setup.Secret, setup.URL, setup.ID
		return out, nil
	})

	handle(s, huma.Operation{
		OperationID: "totp-qr", Method: http.MethodGet, Path: "/2fa/totp/qr", Tags: []string{"two-factor"},
		Summary: "The pending authenticator setup as a QR code (PNG)", Errors: []int{c404},
		Responses: map[string]*huma.Response{"200": {Description: "PNG image", Content: map[string]*huma.MediaType{"image/png": {}}}},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *qrIn) (*qrOut, error) {
		png, err := s.svc.TOTPQRCode(ctx, p, string(in.SetupID))
		if err != nil {
			return nil, err
		}
		return &qrOut{ContentType: "image/png", Body: png}, nil
	})

	handle(s, huma.Operation{
		OperationID: "totp-confirm", Method: http.MethodPost, Path: "/2fa/totp/confirm", Tags: []string{"two-factor"},
		Summary:     "Turn the authenticator app on with a correct code",
		Description: "Answers 10 single-use recovery codes, shown this once and stored only hashed. The owner is mailed a notice.",
		Errors:      []int{c404, c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body confirmBody }) (*confirmOut, error) {
		codes, err := s.svc.ConfirmTOTP(ctx, p, client(ctx), string(in.Body.SetupID), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		out := &confirmOut{}
		out.Body.Message, out.Body.RecoveryCodes = "Two-factor authentication enabled", codes
		return out, nil
	})

	handle(s, huma.Operation{
		OperationID: "2fa-disable", Method: http.MethodPost, Path: "/2fa/disable", Tags: []string{"two-factor"},
		Summary: "Turn two-factor authentication off",
		Description: "Needs the current password and a valid second factor. Deletes the recovery codes and ends every other session. " +
			"The owner is mailed a notice.",
		Errors: []int{c403, c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body factorBody }) (*messageOut, error) {
		if err := s.svc.DisableTwoFactor(ctx, p, client(ctx), string(in.Body.Password), string(in.Body.OTP)); err != nil {
			return nil, err
		}
		return message("Two-factor authentication disabled"), nil
	})

	handle(s, huma.Operation{
		OperationID: "recovery-codes", Method: http.MethodPost, Path: "/2fa/recovery-codes", Tags: []string{"two-factor"},
		Summary: "Replace the recovery codes",
		Description: "Needs the password and a current second factor; answers 10 new single-use codes, shown this once, " +
			"and the earlier codes stop working. 409 if two-factor authentication is off. The owner is mailed a notice.",
		Errors: []int{c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body factorBody }) (*recoveryCodesOut, error) {
		codes, err := s.svc.RegenerateRecoveryCodes(ctx, p, client(ctx), string(in.Body.Password), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		out := &recoveryCodesOut{}
		out.Body.RecoveryCodes = codes
		return out, nil
	})
}
