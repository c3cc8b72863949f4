package service

import (
	"context"
	"slices"

	"github.com/strongroom/strongroom"
)

// DefaultAuditPage is how many events a page of GET /audit or
// /admin/audit holds when no limit is asked for.
const DefaultAuditPage = 50

// AuditPage is a page of audit events, newest first. Next is the before
// of the next page (the last event's seq), or 0 when no older event
// matches.
type AuditPage struct {
	Events []*strongroom.AuditEvent
	Next   int64
}

// MyAuditEvents returns a page of the caller's own events (user_id the
// caller: what they did, and the logins and codes tried on their
// account), newest first: before "" from the newest, else older than the
// event with that id (AuditEventID: users see ids, not the trail's seq,
// which would show how many events everyone else caused); limit 0 means
// DefaultAuditPage. No parameter reaches another user's events: the
// filter is the token's user.
func (s *Service) MyAuditEvents(ctx context.Context, p *Principal, before string, limit int) (AuditPage, error) {
	var seq int64
	if before != "" {
		var ok bool
		if seq, ok = s.eventIDs.Seq(before); !ok {
			return AuditPage{}, strongroom.Invalid("before", "before must be the id of an event from a previous page")
		}
	}
	return s.auditPage(ctx, strongroom.AuditFilter{UserID: p.UserID, Before: seq, Limit: limit})
}

// AuditEventID is the id under which a user sees the event with seq.
func (s *Service) AuditEventID(seq int64) string { return s.eventIDs.ID(seq) }

// AuditEvents returns a page of every user's events that f selects, for
// an administrator (f.Before and f.Limit as MyAuditEvents).
func (s *Service) AuditEvents(ctx context.Context, p *Principal, f strongroom.AuditFilter) (AuditPage, error) {
	if err := s.requireAdmin(ctx, p, "read the audit trail"); err != nil {
		return AuditPage{}, err
	}
	if f.UserID != "" && !strongroom.ValidID(f.UserID) {
		return AuditPage{}, strongroom.Invalid("user", "user must be a user id (24 hexadecimal characters)")
	}
	if f.Type != "" && !slices.Contains(strongroom.AuditTypes(), f.Type) {
		return AuditPage{}, strongroom.Invalid("type", "type must be an audit event type, such as login.failure")
	}
	return s.auditPage(ctx, f)
}

func (s *Service) auditPage(ctx context.Context, f strongroom.AuditFilter) (AuditPage, error) {
	if f.Limit == 0 {
		f.Limit = DefaultAuditPage
	}
	if f.Limit < 1 || f.Limit > strongroom.MaxAuditPage {
		return AuditPage{}, strongroom.Invalid("limit", "limit must be 1 to %d", strongroom.MaxAuditPage)
	}
	if f.Before < 0 {
		return AuditPage{}, strongroom.Invalid("before", "before must be the seq of an event (1 or more)")
	}
	events, err := s.store.AuditEvents(ctx, f)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Events: events}
	if len(events) == f.Limit {
		// A full page: a next one is announced only if it holds anything.
		last := events[len(events)-1].Seq
		more := f
		more.Before, more.Limit = last, 1
		rest, err := s.store.AuditEvents(ctx, more)
		if err != nil {
			return AuditPage{}, err
		}
		if len(rest) > 0 {
			page.Next = last
		}
	}
	return page, nil
}
