package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom/service"
)

type (
	registerBody struct {
		Username username    `json:"username" example:"testuser"`
		Email    email       `json:"email" example:"test@example.com"`
		Password newPassword `json:"password" example:"StrongP@ssw0rd1!"`
	}
	loginBody struct {
		Username username `json:"username" example:"testuser"`
		Password password `json:"password" example:"StrongP@ssw0rd1!"`
	}
	unlockBody struct {
		Username username     `json:"username" example:"testuser"`
		Code     recoveryCode `json:"code" example:"ABCDE-FGHIJ" doc:"the unlock code mailed when the account locked"`
	}
	changePasswordBody struct {
		CurrentPassword password     `json:"current_password"`
		NewPassword     newPassword  `json:"new_password"`
		OTP             secondFactor `json:"otp,omitempty" doc:"required while two-factor authentication is on: an app code, a recovery code, or an email code from /send-otp"`
	}
	// reauthBody is what a change that needs the password again carries.
	reauthBody struct {
		Password password     `json:"password"`
		OTP      secondFactor `json:"otp,omitempty" doc:"required while two-factor authentication is on: an app code, a recovery code, or an email code from /send-otp"`
	}
	deletedOut struct {
		Body struct {
			Message        string    `json:"message" example:"Account deleted"`
			RecordsDeleted int       `json:"records_deleted"`
			KeyDestroyedAt time.Time `json:"key_destroyed_at" doc:"when the account's data key was destroyed: from then on no copy of its records can be read"`
		}
	}
)

func (s *Server) accountRoutes() {
	handle(s, huma.Operation{
		OperationID: "register", Method: http.MethodPost, Path: "/register", Tags: []string{"accounts"},
		Summary: "Register a user", Errors: []int{c409, c429, c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, in *struct{ Body registerBody }) (*messageOut, error) {
		if err := s.svc.Register(ctx, client(ctx), string(in.Body.Username), string(in.Body.Email), string(in.Body.Password)); err != nil {
			return nil, err
		}
		return message("User registered successfully"), nil
	})

	handle(s, huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/login", Tags: []string{"accounts"},
		Summary: "Log in with username and password",
		Description: "Answers a bearer token, or, for an account with two-factor authentication, `{\"two_factor_required\": true, \"challenge\": ...}` " +
			"(after mailing a code, if email is a factor): send the challenge with the code to /verify-otp. Unknown usernames and wrong passwords " +
			"answer alike; five failures in a row lock the name for 15 minutes (429 with Retry-After) and mail the owner an unlock code for /unlock.",
		Errors: []int{c401, c429, c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, in *struct{ Body loginBody }) (*tokenOut, error) {
		res, err := s.svc.Login(ctx, client(ctx), string(in.Body.Username), string(in.Body.Password))
		if err != nil {
			return nil, err
		}
		if res.TwoFactorRequired {
			msg := "Enter the code from your authenticator app, or a recovery code"
			if res.CodeMailed {
				msg = "OTP sent to your email"
			}
			return &tokenOut{Body: tokenBody{TwoFactorRequired: true, Challenge: res.Challenge, Message: msg}}, nil
		}
		return token(res.Token), nil
	})

	handle(s, huma.Operation{
		OperationID: "unlock", Method: http.MethodPost, Path: "/unlock", Tags: []string{"accounts"},
		Summary: "Lift a login lockout with the mailed unlock code",
		Description: "When an account locks after failed logins, its owner is mailed a single-use code, valid 15 minutes. " +
			"A wrong code and an unknown username answer alike.",
		Errors: []int{c401, c429, c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, in *struct{ Body unlockBody }) (*messageOut, error) {
		if err := s.svc.Unlock(ctx, client(ctx), string(in.Body.Username), string(in.Body.Code)); err != nil {
			return nil, err
		}
		return message("Account unlocked"), nil
	})

	handle(s, huma.Operation{
		OperationID: "change-password", Method: http.MethodPost, Path: "/change-password", Tags: []string{"accounts"},
		Summary: "Change the password",
		Description: "Needs the current password and, while two-factor authentication is on, a current second factor (`otp`). " +
			"`new_password` must differ from the current password (422). " +
			"Every other session of the account ends; this one goes on. Wrong passwords count toward the login lockout. " +
			"409 if another change came while this one was checked. The owner is mailed a notice.",
		Errors: []int{c409, c429, c503},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body changePasswordBody }) (*messageOut, error) {
		if err := s.svc.ChangePassword(ctx, p, client(ctx), string(in.Body.CurrentPassword), string(in.Body.NewPassword), string(in.Body.OTP)); err != nil {
			return nil, err
		}
		return message("Password changed"), nil
	})

	handle(s, huma.Operation{
		OperationID: "delete-account", Method: http.MethodDelete, Path: "/account", Tags: []string{"accounts"},
		Summary: "Delete the account and everything it holds",
		Description: "Needs the password and, while two-factor authentication is on, a current second factor (`otp`). " +
			"The account's data key is destroyed first, so its records cannot be read again, from this service or from any backup taken " +
			"afterwards; then every session ends and the records, codes and account are deleted. The username and email can be registered again. " +
			"The owner is mailed a notice.",
		Errors: []int{c409, c429, c503},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *struct{ Body reauthBody }) (*deletedOut, error) {
		d, err := s.svc.DeleteAccount(ctx, p, client(ctx), string(in.Body.Password), string(in.Body.OTP))
		if err != nil {
			return nil, err
		}
		out := &deletedOut{}
		out.Body.Message, out.Body.RecordsDeleted, out.Body.KeyDestroyedAt = "Account deleted", d.RecordsDeleted, d.KeyDestroyedAt
		return out, nil
	})
}
