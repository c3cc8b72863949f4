package api

import (
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Statuses, for the operations' declarations.
const (
	c401, c403, c404, c409 = http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusConflict
	c422, c429, c503       = http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable
)

// routes declares every operation, one file per part of the API.
func (s *Server) routes() {
	s.accountRoutes()   // accounts.go
	s.sessionRoutes()   // sessions.go
	s.twoFactorRoutes() // twofactor.go
	s.passkeyRoutes()   // passkeys.go
	s.recordRoutes()    // records.go
	s.keyRoutes()       // keys.go
	s.auditRoutes()     // audit.go
	s.healthRoutes()    // health.go
	s.links()
}

// links declares how one operation's answer feeds the next (OpenAPI
// links), so that stateful clients and testing tools need not guess: a
// created record's id names it for reading, replacing and deleting; a
// list's first record or session names one to act on; a setup's id names
// its QR code.
func (s *Server) links() {
	ops := map[string]*huma.Operation{}
	for _, item := range s.api.OpenAPI().Paths {
		for _, op := range []*huma.Operation{item.Get, item.Put, item.Post, item.Delete} {
			if op != nil {
				ops[op.OperationID] = op
			}
		}
	}
	link := func(from, name, to, param, expr string) {
		r := ops[from].Responses["200"]
		if r.Links == nil {
			r.Links = map[string]*huma.Link{}
		}
		r.Links[name] = &huma.Link{OperationID: ops[to].OperationID, Parameters: map[string]any{param: expr}}
	}
	for _, to := range []string{"get-data", "update-data", "delete-data"} {
		link("create-data", to, to, "id", "$response.body#/id")
	}
	link("list-data", "get-data", "get-data", "id", "$response.body#/0/id")
	link("list-sessions", "revoke-session", "revoke-session", "id", "$response.body#/0/id")
	link("totp-setup", "totp-qr", "totp-qr", "setup_id", "$response.body#/setup_id")
}

// Answers shared by several parts.
type (
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
)

func message(m string) *messageOut {
	out := &messageOut{}
	out.Body.Message = m
	return out
}

func token(tok string) *tokenOut {
	return &tokenOut{Body: tokenBody{AccessToken: tok, TokenType: "bearer"}}
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// noInput is the input of an operation that reads nothing but its token.
type noInput struct{}
