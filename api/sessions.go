package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom/service"
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
		ID sessionID `path:"id" doc:"a session id from GET /sessions"`
	}
)

func (s *Server) sessionRoutes() {
	handle(s, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/logout", Tags: []string{"sessions"},
		Summary:     "End this token's session",
		Description: "The token is refused from then on: at once by this server, within a second by every other replica.",
	}, tokenHolder, func(ctx context.Context, p *service.Principal, _ *noInput) (*messageOut, error) {
		if err := s.svc.Logout(ctx, p); err != nil {
			return nil, err
		}
		return message("Logged out"), nil
	})

	handle(s, huma.Operation{
		OperationID: "list-sessions", Method: http.MethodGet, Path: "/sessions", Tags: []string{"sessions"},
		Summary: "The caller's live sessions, newest first",
	}, tokenHolder, func(ctx context.Context, p *service.Principal, _ *noInput) (*sessionsOut, error) {
		ss, err := s.svc.Sessions(ctx, p)
		if err != nil {
			return nil, err
		}
		out := &sessionsOut{Body: make([]sessionOut, len(ss))}
		for i, x := range ss {
			out.Body[i] = sessionOut{ID: x.ID, CreatedAt: x.CreatedAt, ExpiresAt: x.ExpiresAt, Client: x.Client, UserAgent: x.UserAgent, Current: x.Current}
		}
		return out, nil
	})

	handle(s, huma.Operation{
		OperationID: "revoke-session", Method: http.MethodDelete, Path: "/sessions/{id}", Tags: []string{"sessions"},
		Summary:     "End one of the caller's sessions",
		Description: "Another user's session id answers 404, like one that does not exist.",
		Errors:      []int{c404},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *sessionPath) (*messageOut, error) {
		if err := s.svc.EndSession(ctx, p, string(in.ID)); err != nil {
			return nil, err
		}
		return message("Session revoked"), nil
	})
}
