package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

// Bodies of requests and answers, exactly as in the seed design.
type (
	registerBody struct {
		Username string `json:"username" maxLength:"64" example:"testuser"`
		Email    string `json:"email" maxLength:"254" format:"email" example:"test@example.com"`
		Password string `json:"password" maxLength:"512" example:"StrongP@ssw0rd1!" doc:"8 to 128 characters with an uppercase letter, a digit and a special character"`
	}
	loginBody struct {
		Username string `json:"username" maxLength:"64" example:"testuser"`
		Password string `json:"password" maxLength:"512" example:"StrongP@ssw0rd1!"`
	}
	dataBody struct {
		DataType string `json:"data_type" maxLength:"64" example:"card_number"`
		Value    string `json:"value" maxLength:"16384" example:"1234567812345678" doc:"a card_number is exactly 16 digits"`
	}
	sendOTPBody struct {
		Username  string `json:"username" maxLength:"64" example:"testuser"`
		Challenge string `json:"challenge,omitempty" maxLength:"64" doc:"without a bearer token: the challenge /login answered"`
	}
	otpBody struct {
		Username  string `json:"username" maxLength:"64" example:"testuser"`
		OTP       string `json:"otp" maxLength:"16" example:"123456" doc:"6 digits, or a recovery code"`
		Challenge string `json:"challenge,omitempty" maxLength:"64" doc:"without a bearer token: the challenge /login answered"`
	}
	unlockBody struct {
		Username string `json:"username" maxLength:"64" example:"testuser"`
		Code     string `json:"code" maxLength:"16" example:"ABCDE-FGHIJ" doc:"the unlock code mailed when the account locked"`
	}

	messageOut struct {
		Body struct {
			Message string `json:"message"`
		}
	}
	tokenBody struct {
		AccessToken       string `json:"access_token,omitempty" doc:"present when the login is complete"`
		TokenType         string `json:"token_type,omitempty" example:"bearer"`
		TwoFactorRequired bool   `json:"two_factor_required,omitempty" doc:"true when /verify-otp must follow, with the challenge"`
		Challenge         string `json:"challenge,omitempty" doc:"with two_factor_required: binds /verify-otp and /send-otp to this login; single use, valid 5 minutes"`
		Message           string `json:"message,omitempty"`
	}
	tokenOut struct{ Body tokenBody }
	record   struct {
		ID       string `json:"id" example:"65a1b2c3d4e5f60718293a4b"`
		DataType string `json:"data_type" example:"card_number"`
		Value    string `json:"value" example:"1234567812345678"`
	}
	recordOut  struct{ Body record }
	recordsOut struct{ Body []record }
	rotation   struct {
		State         string     `json:"state" enum:"none,rewrapping,done"`
		TargetVersion int        `json:"target_version"`
		Rewrapped     int        `json:"rewrapped"`
		StartedAt     *time.Time `json:"started_at,omitempty"`
		FinishedAt    *time.Time `json:"finished_at,omitempty"`
	}
	rotationOut struct{ Body rotation }
	statusOut   struct {
		Body struct {
			Status string `json:"status" example:"ok"`
		}
	}
)

// IDPath is the record id in the URL.
type IDPath struct {
	ID string `path:"id" doc:"the record's id (24 hexadecimal characters)"`
}

func message(m string) *messageOut {
	out := &messageOut{}
	out.Body.Message = m
	return out
}

func token(tok string) *tokenOut {
	return &tokenOut{Body: tokenBody{AccessToken: tok, TokenType: "bearer"}}
}

func view(v service.RecordView) record { return record{ID: v.ID, DataType: v.DataType, Value: v.Value} }

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) routes() {
	e := func(codes ...int) []int { return codes }
	const (
		c401, c403, c404, c409 = http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict
		c422, c429, c503       = http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable
	)

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "register", Method: http.MethodPost, Path: "/register", Tags: []string{"accounts"},
		Summary: "Register a user", Errors: e(c409, c422, c429, c503),
	}), func(ctx context.Context, in *struct{ Body registerBody }) (*messageOut, error) {
		if err := s.svc.Register(ctx, client(ctx), in.Body.Username, in.Body.Email, in.Body.Password); err != nil {
			return nil, httpError(s.log, "register", err)
		}
		return message("User registered successfully"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "login", Method: http.MethodPost, Path: "/login", Tags: []string{"accounts"},
		Summary: "Log in with username and password",
		Description: "Answers a bearer token, or, for an account with two-factor authentication, `{\"two_factor_required\": true, \"challenge\": ...}` " +
			"(after mailing a code, if email is a factor): send the challenge with the code to /verify-otp. Unknown usernames and wrong passwords " +
			"answer alike; five failures in a row lock the name for 15 minutes (429 with Retry-After) and mail the owner an unlock code for /unlock.",
		Errors: e(c401, c422, c429, c503),
	}), func(ctx context.Context, in *struct{ Body loginBody }) (*tokenOut, error) {
		res, err := s.svc.Login(ctx, client(ctx), in.Body.Username, in.Body.Password)
		if err != nil {
			return nil, httpError(s.log, "login", err)
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

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "send-otp", Method: http.MethodPost, Path: "/send-otp", Tags: []string{"two-factor"},
		Summary: "Mail a one-time code",
		Description: "With a bearer token: mails a code for email two-factor enrollment (or to confirm a change) to that user. " +
			"Without: re-sends the code of the login that `challenge` names; without a valid challenge it is refused (401), " +
			"the same whether or not the user exists, and nothing is sent.",
		Errors: e(c401, c403, c409, c422, c429, c503),
	}), func(ctx context.Context, in *struct {
		Bearer
		Body sendOTPBody
	}) (*messageOut, error) {
		p, err := s.optionalPrincipal("send-otp", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.SendOTP(ctx, p, client(ctx), in.Body.Username, in.Body.Challenge); err != nil {
			return nil, httpError(s.log, "send-otp", err)
		}
		return message("OTP sent to your email"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "verify-otp", Method: http.MethodPost, Path: "/verify-otp", Tags: []string{"two-factor"},
		Summary: "Check a second factor and get a token",
		Description: "With a bearer token: completes email enrollment and turns two-factor authentication on, for an account without it " +
			"(409 if it is on: a token and the mailbox cannot add a factor or mint fresh tokens). Without: completes " +
			"the login that `challenge` names (its password was accepted), with the mailed code, an authenticator-app code or a recovery " +
			"code (XXXXX-XXXXX); without a valid challenge no code is looked at (401, the same whether or not the user exists). " +
			"Every code works once; five wrong tries burn the login; ten wrong second factors in a row lock the second step " +
			"for 15 minutes (429) and mail the owner.",
		Errors: e(c401, c403, c409, c422, c429, c503),
	}), func(ctx context.Context, in *struct {
		Bearer
		Body otpBody
	}) (*tokenOut, error) {
		p, err := s.optionalPrincipal("verify-otp", in.Bearer)
		if err != nil {
			return nil, err
		}
		tok, err := s.svc.VerifyOTP(ctx, p, client(ctx), in.Body.Username, in.Body.Challenge, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "verify-otp", err)
		}
		return token(tok), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "unlock", Method: http.MethodPost, Path: "/unlock", Tags: []string{"accounts"},
		Summary: "Lift a login lockout with the mailed unlock code",
		Description: "When an account locks after failed logins, its owner is mailed a single-use code, valid 15 minutes. " +
			"A wrong code and an unknown username answer alike.",
		Errors: e(c401, c422, c429, c503),
	}), func(ctx context.Context, in *struct{ Body unlockBody }) (*messageOut, error) {
		if err := s.svc.Unlock(ctx, client(ctx), in.Body.Username, in.Body.Code); err != nil {
			return nil, httpError(s.log, "unlock", err)
		}
		return message("Account unlocked"), nil
	})

	s.recordRoutes(e(c401, c422, c503), e(c401, c404, c422, c503))
	s.twoFactorRoutes()
	s.sessionRoutes()

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "rotate-master-key", Method: http.MethodPost, Path: "/rotate-master-key", Tags: []string{"keys"},
		Summary:     "Rotate the master key (admin)",
		Description: "Makes a new master-key version and rewraps every data key under it; no record is re-encrypted. Resumes an interrupted rotation.",
		Security:    bearerSecurity, Errors: e(c401, c403, c409, c503),
	}), func(ctx context.Context, in *struct{ Bearer }) (*messageOut, error) {
		p, err := s.principal("rotate-master-key", in.Bearer)
		if err != nil {
			return nil, err
		}
		if _, err := s.svc.RotateMasterKey(ctx, p); err != nil {
			return nil, httpError(s.log, "rotate-master-key", err)
		}
		return message("Master key rotated successfully"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "rotation-status", Method: http.MethodGet, Path: "/rotate-master-key", Tags: []string{"keys"},
		Summary: "Progress of the latest master-key rotation (admin)", Security: bearerSecurity, Errors: e(c401, c403, c503),
	}), func(ctx context.Context, in *struct{ Bearer }) (*rotationOut, error) {
		p, err := s.principal("rotation-status", in.Bearer)
		if err != nil {
			return nil, err
		}
		r, err := s.svc.RotationStatus(ctx, p)
		if err != nil {
			return nil, httpError(s.log, "rotation-status", err)
		}
		state := string(r.State)
		if r.State == strongroom.RotationNone {
			state = "none"
		}
		return &rotationOut{Body: rotation{State: state, TargetVersion: r.TargetVersion, Rewrapped: r.Rewrapped,
			StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt)}}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"health"},
		Summary: "The process is up",
	}, func(context.Context, *struct{}) (*statusOut, error) {
		out := &statusOut{}
		out.Body.Status = "ok"
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"health"},
		Summary: "The store and the key manager answer", Errors: e(c503),
	}, func(ctx context.Context, _ *struct{}) (*statusOut, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.svc.Ready(ctx); err != nil {
			s.log.Warn("not ready", "err", err)
			msg := "a dependency is unavailable"
			var e *strongroom.Error
			if errors.As(err, &e) && e.Kind == strongroom.KindUnavailable {
				msg = e.Message
			}
			return nil, huma.NewError(http.StatusServiceUnavailable, "not ready: "+msg)
		}
		out := &statusOut{}
		out.Body.Status = "ok"
		return out, nil
	})
}

func (s *Server) recordRoutes(listErrs, itemErrs []int) {
	// A create or an update past the caller's quota is a conflict.
	writeErrs := func(errs []int) []int { return append(slices.Clone(errs), http.StatusConflict) }
	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "create-data", Method: http.MethodPost, Path: "/sensitive-data", Tags: []string{"sensitive data"},
		Summary:     "Store a value, encrypted",
		Description: "Refused with 409 when the caller already has the most records, or stored bytes, a user may have (see the README: quotas).",
		Security:    bearerSecurity, Errors: writeErrs(listErrs),
	}), func(ctx context.Context, in *struct {
		Bearer
		Body dataBody
	}) (*recordOut, error) {
		p, err := s.principal("create-data", in.Bearer)
		if err != nil {
			return nil, err
		}
		v, err := s.svc.CreateRecord(ctx, p, in.Body.DataType, in.Body.Value)
		if err != nil {
			return nil, httpError(s.log, "create-data", err)
		}
		return &recordOut{Body: view(v)}, nil
	})

	s.listRoute(listErrs)

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "get-data", Method: http.MethodGet, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Read one value, decrypted", Security: bearerSecurity, Errors: itemErrs,
	}), func(ctx context.Context, in *struct {
		Bearer
		IDPath
	}) (*recordOut, error) {
		p, err := s.principal("get-data", in.Bearer)
		if err != nil {
			return nil, err
		}
		v, err := s.svc.Record(ctx, p, in.ID)
		if err != nil {
			return nil, httpError(s.log, "get-data", err)
		}
		return &recordOut{Body: view(v)}, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "update-data", Method: http.MethodPut, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Replace a value", Description: "Refused with 409 when a larger value would take the caller past the byte quota.",
		Security: bearerSecurity, Errors: writeErrs(itemErrs),
	}), func(ctx context.Context, in *struct {
		Bearer
		IDPath
		Body dataBody
	}) (*recordOut, error) {
		p, err := s.principal("update-data", in.Bearer)
		if err != nil {
			return nil, err
		}
		v, err := s.svc.UpdateRecord(ctx, p, in.ID, in.Body.DataType, in.Body.Value)
		if err != nil {
			return nil, httpError(s.log, "update-data", err)
		}
		return &recordOut{Body: view(v)}, nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "delete-data", Method: http.MethodDelete, Path: "/sensitive-data/{id}", Tags: []string{"sensitive data"},
		Summary: "Delete a value", Security: bearerSecurity, Errors: itemErrs,
	}), func(ctx context.Context, in *struct {
		Bearer
		IDPath
	}) (*messageOut, error) {
		p, err := s.principal("delete-data", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.DeleteRecord(ctx, p, in.ID); err != nil {
			return nil, httpError(s.log, "delete-data", err)
		}
		return message("Data deleted successfully"), nil
	})
}

func unauthorized(msg string) error {
	return strongroom.Errorf(strongroom.KindUnauthorized, "%s", msg)
}
