package api

import (
	"net/http"
	"time"
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
	s.recordRoutes()    // records.go
	s.keyRoutes()       // keys.go
	s.healthRoutes()    // health.go
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
