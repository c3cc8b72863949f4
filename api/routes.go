package api

import (
	"context"
	"errors"
	"net/http"
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
	usernameBody struct {
		Username string `json:"username" maxLength:"64" example:"testuser"`
	}
	otpBody struct {
		Username string `json:"username" maxLength:"64" example:"testuser"`
		OTP      string `json:"otp" maxLength:"16" example:"123456" doc:"6 digits, or a recovery code"`
	}

	messageOut struct {
		Body struct {
			Message string `json:"message"`
		}
	}
	tokenBody struct {
		AccessToken       string `json:"access_token,omitempty" doc:"present when the login is complete"`
		TokenType         string `json:"token_type,omitempty" example:"bearer"`
		TwoFactorRequired bool   `json:"two_factor_required,omitempty" doc:"true when a code was mailed and /verify-otp must follow"`
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
		Summary:     "Log in with username and password",
		Description: "Answers a bearer token, or, for an account with two-factor authentication, `{\"two_factor_required\": true}` after mailing a code for /verify-otp.",
		Errors:      e(c401, c422, c429, c503),
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
			return &tokenOut{Body: tokenBody{TwoFactorRequired: true, Message: msg}}, nil
		}
		return token(res.Token), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "send-otp", Method: http.MethodPost, Path: "/send-otp", Tags: []string{"two-factor"},
		Summary: "Mail a one-time code",
		Description: "With a bearer token: starts email two-factor enrollment for that user. Without: re-sends the code of a login " +
			"whose password was accepted. The answer is the same whether or not the user exists.",
		Errors: e(c401, c403, c422, c429, c503),
	}), func(ctx context.Context, in *struct {
		Bearer
		Body usernameBody
	}) (*messageOut, error) {
		p, err := s.optionalPrincipal("send-otp", in.Bearer)
		if err != nil {
			return nil, err
		}
		if err := s.svc.SendOTP(ctx, p, client(ctx), in.Body.Username); err != nil {
			return nil, httpError(s.log, "send-otp", err)
		}
		return message("OTP sent to your email"), nil
	})

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "verify-otp", Method: http.MethodPost, Path: "/verify-otp", Tags: []string{"two-factor"},
		Summary: "Check a second factor and get a token",
		Description: "With a bearer token: completes email enrollment and turns two-factor authentication on. Without: completes " +
			"a login whose password was accepted, with the mailed code, an authenticator-app code or a recovery code (XXXXX-XXXXX). " +
			"Every code works once; five wrong tries burn the login.",
		Errors: e(c401, c403, c422, c503),
	}), func(ctx context.Context, in *struct {
		Bearer
		Body otpBody
	}) (*tokenOut, error) {
		p, err := s.optionalPrincipal("verify-otp", in.Bearer)
		if err != nil {
			return nil, err
		}
		tok, err := s.svc.VerifyOTP(ctx, p, client(ctx), in.Body.Username, in.Body.OTP)
		if err != nil {
			return nil, httpError(s.log, "verify-otp", err)
		}
		return token(tok), nil
	})

	s.recordRoutes(e(c401, c422, c503), e(c401, c404, c422, c503))
	s.twoFactorRoutes()

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
	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "create-data", Method: http.MethodPost, Path: "/sensitive-data", Tags: []string{"sensitive data"},
		Summary: "Store a value, encrypted", Security: bearerSecurity, Errors: listErrs,
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

	huma.Register(s.api, s.register(huma.Operation{
		OperationID: "list-data", Method: http.MethodGet, Path: "/sensitive-data", Tags: []string{"sensitive data"},
		Summary: "List the caller's values, decrypted", Security: bearerSecurity, Errors: listErrs,
	}), func(ctx context.Context, in *struct{ Bearer }) (*recordsOut, error) {
		p, err := s.principal("list-data", in.Bearer)
		if err != nil {
			return nil, err
		}
		vs, err := s.svc.Records(ctx, p)
		if err != nil {
			return nil, httpError(s.log, "list-data", err)
		}
		out := &recordsOut{Body: make([]record, len(vs))}
		for i, v := range vs {
			out.Body[i] = view(v)
		}
		return out, nil
	})

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
		Summary: "Replace a value", Security: bearerSecurity, Errors: itemErrs,
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
