package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

type (
	sessionOut struct {
		ID        string    `json:"id" example:"9f86d081884c7d659a2feaa0c55ad015" doc:"the session's id (its token's jti)"`
		CreatedAt time.Time `json:"created_at"`
		ExpiresAt time.Time `json:"expires_at"`
		Client    string    `json:"client" example:"203.0.113.7" doc:"the client's address when the session began"`
		UserAgent string    `json:"user_agent" doc:"its User-Agent header, shortened"`
		Current   bool      `json:"current" doc:"true for the session of the token that asked"`
	}
	sessionsOut struct{ Body []sessionOut }
	sessionPath struct {
		Bearer
		ID string `path:"id" maxLength:"64" doc:"a session id from GET /sessions"`
	}
	changePasswordBody struct {
		CurrentPassword string `json:"current_password" maxLength:"512"`
		NewPassword     string `json:"new_password" maxLength:"512" doc:"8 to 128 characters with an uppercase letter, a digit and a special character"`
		OTP             string `json:"otp,omitempty" maxLength:"16" doc:"required while two-factor authentication is on: an app code, a recovery code, or an email code from /send-otp"`
	}
	recoveryCodesOut struct {
		Body struct {
			RecoveryCodes []string `json:"recovery_codes" doc:"10 single-use codes, shown this once; the earlier ones no longer work"`
		}
	}
	deletedOut struct {
		Body struct {
			Message        string    `json:"message" example:"Account deleted"`
			RecordsDeleted int       `json:"records_deleted"`
			KeyDestroyedAt time.Time `json:"key_destroyed_at" doc:"when the account's data key was destroyed: from then on no copy of its records can be read"`
		}
	}
)

func (s *Server) sessionRoutes() {
	const (
		c401, c404, c409, c422 = http.StatusUnauthorized, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity
		c429, c503             = http.StatusTooManyRequests, http.StatusServiceUnavailable
	)
	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/logout", Tags: []string{"sessions"},
		Summary:     "End this token's session",
		Description: "The token is refused from then on: at once by this server, within a second by every other replica.",
		Security:    bearerSecurity, Errors: []int{c401, c503},
	}), func(ctx context.Context, in *struct{ Bearer }) (*messageOut, error) {
		p, err := s.principal("logout", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.Logout(ctx, p); err != nil {
			return nil, httpError(s.log, "logout", err)
		}
		return message("Logged out"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "list-sessions", Method: http.MethodGet, Path: "/sessions", Tags: []string{"sessions"},
		Summary:  "The caller's live sessions, newest first",
		Security: bearerSecurity, Errors: []int{c401, c503},
	}), func(ctx context.Context, in *struct{ Bearer }) (*sessionsOut, error) {
		p, err := s.principal("list-sessions", in.Bearer)
		if err != nil {
			return nil, err
		}
		ss, err := s.svc.Sessions(ctx, p)
		if err != nil {
			return nil, httpError(s.log, "list-sessions", err)
		}
		out := &sessionsOut{Body: make([]sessionOut, len(ss))}
		for i, x := range ss {
			out.Body[i] = sessionOut{ID: x.ID, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, Client: x.Client, UserAgent: x.UserAgent, Current: x.Current}
		}
		return out, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "revoke-session", Method: http.MethodDelete, Path: "/sessions/{id}", Tags: []string{"sessions"},
		Summary:     "End one of the caller's sessions",
		Description: "Another user's session id answers 404, like one that does not exist.",
		Security:    bearerSecurity, Errors: []int{c401, c404, c422, c503},
	}), func(ctx context.Context, in *sessionPath) (*messageOut, error) {
		p, err := s.principal("revoke-session", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.EndSession(ctx, p, in.ID); err != nil {
			return nil, httpError(s.log, "revoke-session", err)
		}
		return message("Session revoked"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "change-password", Method: http.MethodPost, Path: "/change-password", Tags: []string{"accounts"},
		Summary: "Change the password",
		Description: "Needs the current password and, while two-factor authentication is on, a current second factor (`otp`). " +
			"Every other session of the account ends; this one goes on. Wrong passwords count toward the login lockout. The owner is mailed a notice.",
		Security: bearerSecurity, Errors: []int{c401, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body changePasswordBody
	}) (*messageOut, error) {
		p, err := s.principal("change-password", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.ChangePassword(ctx, p, client(ctx), in.Body.CurrentPassword, in.Body.NewPassword, in.Body.OTP); err != nil {
			return nil, httpError(s.log, "change-password", err)
		}
		return message("Password changed"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "recovery-codes", Method: http.MethodPost, Path: "/2fa/recovery-codes", Tags: []string{"two-factor"},
		Summary: "Replace the recovery codes",
		Description: "Needs the password and a current second factor; answers 10 new single-use codes, shown this once, " +
			"and the earlier codes stop working. 409 if two-factor authentication is off. The owner is mailed a notice.",
		Security: bearerSecurity, Errors: []int{c401, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body disableBody
	}) (*recoveryCodesOut, error) {
		p, err := s.principal("recovery-codes", in.Bearer)
		if err != nil {
			return nil, err
		}
		codes, err := s.svc.RegenerateRecoveryCodes(ctx, p, client(ctx), in.Body.Password, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "recovery-codes", err)
		}
		out := &recoveryCodesOut{}
		out.Body.RecoveryCodes = codes
		return out, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "delete-account", Method: http.MethodDelete, Path: "/account", Tags: []string{"accounts"},
		Summary: "Delete the account and everything it holds",
		Description: "Needs the password and, while two-factor authentication is on, a current second factor (`otp`). " +
			"The account's data key is destroyed first, so its records cannot be read again, from this service or from any backup taken " +
			"afterwards; then every session ends and the records, codes and account are deleted. The username and email can be registered again. " +
			"The owner is mailed a notice.",
		Security: bearerSecurity, Errors: []int{c401, c409, c422, c429, c503},
	}), func(ctx context.Context, in *struct {
		Bearer
		Body setupBody
	}) (*deletedOut, error) {
		p, err := s.principal("delete-account", in.Bearer)
		if err != nil {
			return nil, err
		}
		d, err := s.svc.DeleteAccount(ctx, p, client(ctx), in.Body.Password, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "delete-account", err)
		}
		out := &deletedOut{}
		out.Body.Message, out.Body.RecordsDeleted, out.Body.KeyDestroyedAt = "Account deleted", d.RecordsDeleted, d.KeyDestroyedAt
		return out, nil
	})
}
