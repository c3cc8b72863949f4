package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

type (
	rotation struct {
		State         string     `json:"state" enum:"none,rewrapping,done"`
		TargetVersion int        `json:"target_version"`
		Rewrapped     int        `json:"rewrapped"`
		StartedAt     *time.Time `json:"started_at,omitempty"`
		FinishedAt    *time.Time `json:"finished_at,omitempty"`
	}
	rotationOut struct{ Body rotation }
)

func (s *Server) keyRoutes() {
	handle(s, huma.Operation{
		OperationID: "rotate-master-key", Method: http.MethodPost, Path: "/rotate-master-key", Tags: []string{"keys"},
		Summary:     "Rotate the master key (admin)",
		Description: "Makes a new master-key version and rewraps every data key under it; no record is re-encrypted. Resumes an interrupted rotation.",
		Errors:      []int{c403, c409, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, _ *noInput) (*messageOut, error) {
		if _, err := s.svc.RotateMasterKey(ctx, p); err != nil {
			return nil, err
		}
		return message("Master key rotated successfully"), nil
	})

	handle(s, huma.Operation{
		OperationID: "rotation-status", Method: http.MethodGet, Path: "/rotate-master-key", Tags: []string{"keys"},
		Summary: "Progress of the latest master-key rotation (admin)", Errors: []int{c403, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, _ *noInput) (*rotationOut, error) {
		r, err := s.svc.RotationStatus(ctx, p)
		if err != nil {
			return nil, err
		}
		state := string(r.State)
		if r.State == strongroom.RotationNone {
			state = "none"
		}
		return &rotationOut{Body: rotation{State: state, TargetVersion: r.TargetVersion, Rewrapped: r.Rewrapped,
			StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt)}}, nil
	})
}
