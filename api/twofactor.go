package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

type (
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
	setupBody struct {
		Password string `json:"password" maxLength:"512"`
		OTP      string `json:"otp,omitempty" maxLength:"16" doc:"required while two-factor authentication is on: an app code, a recovery code, or an email code from /send-otp"`
	}
	confirmBody struct {
		SetupID string `json:"setup_id" maxLength:"64" doc:"from /2fa/totp/setup"`
		OTP     string `json:"otp" maxLength:"16" example:"123456" doc:"the app's current code"`
	}
	qrIn struct {
		Bearer
		SetupID string `query:"setup_id" maxLength:"64" required:"true" doc:"from /2fa/totp/setup"`
	}
	confirmOut struct {
		Body struct {
			Message       string   `json:"message"`
			RecoveryCodes []string `json:"recovery_codes" doc:"10 single-use codes, shown this once"`
		}
	}
	disableBody struct {
		Password string `json:"password" maxLength:"512"`
		OTP      string `json:"otp" maxLength:"16" doc:"an app code, a recovery code, or an email code from /send-otp"`
	}
)

func (s *Server) twoFactorRoutes() {
	const (
		c401, c403, c404, c409 = http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict
		c422, c429, c503       = http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable
	)
	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "totp-setup", Method: http.MethodPost, Path: "/2fa/totp/setup", Tags: []string{"two-factor"},
		Summary: "Start setting up an authenticator app",
		Description: "Makes a new TOTP secret (RFC 6238: SHA-1, 6 digits, 30 s). It takes effect after /2fa/totp/confirm. " +
			"Needs the password and, while a second factor is on, a current one: a bearer token alone cannot replace the authenticator.",
		Security: bearerSecurity, Errors: []int{c401, c403, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body setupBody
	}) (*totpSetupOut, error) {
		p, err := s.principal("totp-setup", in.Bearer)
		if err != nil {
			return nil, err
		}
		setup, err := s.svc.SetupTOTP(ctx, p, client(ctx), in.Body.Password, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "totp-setup", err)
		}
		out := &totpSetupOut{}
		out.Body.Secret, out.Body.OTPAuthURL, out.Body.SetupID = setup.Secret, setup.URL, setup.ID
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "totp-qr", Method: http.MethodGet, Path: "/2fa/totp/qr", Tags: []string{"two-factor"},
		Summary:  "The pending authenticator setup as a QR code (PNG)",
		Security: bearerSecurity, Errors: []int{c401, c404, c422, c503},
		Responses: map[string]*huma.Response{"200": {Description: "PNG image", Content: map[string]*huma.MediaType{"image/png": {}}}},
	}, func(ctx context.Context, in *qrIn) (*qrOut, error) {
		p, err := s.principal("totp-qr", in.Bearer)
		if err != nil {
			return nil, err
		}
		png, err := s.svc.TOTPQRCode(ctx, p, in.SetupID)
		if err != nil {
			return nil, httpError(s.log, "totp-qr", err)
		}
		return &qrOut{ContentType: "image/png", Body: png}, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "totp-confirm", Method: http.MethodPost, Path: "/2fa/totp/confirm", Tags: []string{"two-factor"},
		Summary:     "Turn the authenticator app on with a correct code",
		Description: "Answers 10 single-use recovery codes, shown this once and stored only hashed. The owner is mailed a notice.",
		Security:    bearerSecurity, Errors: []int{c401, c404, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body confirmBody
	}) (*confirmOut, error) {
		p, err := s.principal("totp-confirm", in.Bearer)
		if err != nil {
			return nil, err
		}
		codes, err := s.svc.ConfirmTOTP(ctx, p, client(ctx), in.Body.SetupID, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "totp-confirm", err)
		}
		out := &confirmOut{}
		out.Body.Message, out.Body.RecoveryCodes = "Two-factor authentication enabled", codes
		return out, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "2fa-disable", Method: http.MethodPost, Path: "/2fa/disable", Tags: []string{"two-factor"},
		Summary:     "Turn two-factor authentication off",
		Description: "Needs the current password and a valid second factor. Deletes the recovery codes. The owner is mailed a notice.",
		Security:    bearerSecurity, Errors: []int{c401, c403, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body disableBody
	}) (*messageOut, error) {
		p, err := s.principal("2fa-disable", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.DisableTwoFactor(ctx, p, client(ctx), in.Body.Password, in.Body.OTP); err != nil {
			return nil, httpError(s.log, "2fa-disable", err)
		}
		return message("Two-factor authentication disabled"), nil
	})
}
