package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/password"
)

// passwordSlot admits a login or registration from client to the
// password-hashing pool, before any other work is done for it: first the
// per-address rate limit (429 with Retry-After), then a place in the pool
// within the address's fair share (429 when the address holds its share
// and its queue is full; 503 when the whole pool is). Refusals are what an
// attack looks like, so each goes to the log at debug level only, and a
// summary at most once a minute.
func (s *Service) passwordSlot(ctx context.Context, client string) (*password.Slot, error) {
	if s.authAddr != nil {
		ok, wait, err := s.authAddr.Allow(ctx, client)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, s.refuse(ctx, client, "rate_limited", &strongroom.Error{Kind: strongroom.KindLocked,
				Message: "too many login attempts from your address; try again later", RetryAfter: wait, Err: strongroom.ErrOverload})
		}
	}
	slot, err := s.cfg.Passwords.Reserve(ctx, client)
	switch {
	case err == nil:
		return slot, nil
	case errors.Is(err, password.ErrClientBusy):
		return nil, s.refuse(ctx, client, "over_share", &strongroom.Error{Kind: strongroom.KindLocked,
			Message: "too many login attempts at once from your address; try again shortly", RetryAfter: time.Second,
			Err: fmt.Errorf("%w: %w", strongroom.ErrOverload, err)})
	case errors.Is(err, password.ErrBusy):
		return nil, s.refuse(ctx, client, "pool_full", strongroom.Unavailable("server busy; try again shortly",
			fmt.Errorf("%w: %w", strongroom.ErrOverload, err)))
	default:
		return nil, strongroom.Internal("password slot", err)
	}
}

func (s *Service) refuse(ctx context.Context, client, reason string, err *strongroom.Error) error {
	s.log.DebugContext(ctx, "login or registration refused", "reason", reason, "client", client)
	s.refusals.Add(client, reason)
	s.obs.Refused(reason)
	return err
}
