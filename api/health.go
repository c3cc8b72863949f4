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

type statusOut struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

func ok() *statusOut {
	out := &statusOut{}
	out.Body.Status = "ok"
	return out
}

func (s *Server) healthRoutes() {
	handle(s, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"health"},
		Summary: "The process is up",
	}, anyone, func(context.Context, *service.Principal, *noInput) (*statusOut, error) {
		return ok(), nil
	})

	handle(s, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"health"},
		Summary: "The store and the key manager answer", Errors: []int{c503},
	}, anyone, func(ctx context.Context, _ *service.Principal, _ *noInput) (*statusOut, error) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := s.svc.Ready(ctx); err != nil {
			msg := "a dependency is unavailable"
			var e *strongroom.Error
			if errors.As(err, &e) && e.Kind == strongroom.KindUnavailable {
				msg = e.Message
			}
			return nil, strongroom.Unavailable("not ready: "+msg, err) // logged, with its cause, as the answer is made
		}
		return ok(), nil
	})
}
