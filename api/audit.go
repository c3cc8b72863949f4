package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/strongroom/strongroom"
	"github.com/strongroom/strongroom/service"
)

type (
	// auditEvent is an event as GET /audit shows it to its user: no user
	// id (it is the caller's) and no hashes (the chain is the operator's,
	// through "strongroom audit export").
	// Events are named by an opaque id, not the trail's seq, which counts
	// every user's events.
	auditEvent struct {
		ID        string `json:"id" pattern:"^[0-9a-f]{32}$" example:"64c5c46e11a36c9c3958aa3bf3866a9b" doc:"the event's id; pass the last one's as before for the next page"`
		Time      string `json:"time" format:"date-time" example:"2026-01-02T03:04:05.678Z" doc:"when, in UTC, to the millisecond"`
		Type      string `json:"type" example:"login.success"`
		Outcome   string `json:"outcome" example:"success" doc:"success or failure (second_factor_required: a login's password step, a second factor to follow)"`
		Target    string `json:"target" doc:"what was acted on: a record or session id, an account id, the kind of code (email, totp, recovery, unlock, code), a master-key version; empty if nothing"`
		Client    string `json:"client" example:"203.0.113.7" doc:"the client's address; empty for work no request started"`
		RequestID string `json:"request_id" doc:"the request's X-Request-Id; empty for work no request started"`
	}
	// adminAuditEvent is an event as an administrator sees it: whose too.
	adminAuditEvent struct {
		Seq       int64  `json:"seq" minimum:"1" doc:"the event's place in the trail; pass the last one's as before for the next page"`
		Time      string `json:"time" format:"date-time" example:"2026-01-02T03:04:05.678Z" doc:"when, in UTC, to the millisecond"`
		Type      string `json:"type" example:"login.failure"`
		Outcome   string `json:"outcome" example:"failure"`
		UserID    string `json:"user_id" doc:"the account the event is about; empty if none (a login with a name no account has)"`
		Target    string `json:"target" doc:"what was acted on (see GET /audit)"`
		Client    string `json:"client" example:"203.0.113.7"`
		RequestID string `json:"request_id"`
	}
	auditIn struct {
		Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"at most this many events (a page)"`
		Before string `query:"before" pattern:"^[0-9a-f]{32}$" doc:"the id of the last event of the previous page: answer the events before it"`
	}
	adminAuditIn struct {
		Limit  int       `query:"limit" minimum:"1" maximum:"1000" default:"50" doc:"at most this many events (a page)"`
		Before int64     `query:"before" minimum:"1" doc:"the seq of the last event of the previous page: answer the events before it"`
		User   accountID `query:"user" doc:"only the events of this user id"`
		Type   auditType `query:"type" doc:"only events of this type"`
		Since  time.Time `query:"since" doc:"only events at or after this time (RFC 3339, e.g. 2026-01-02T00:00:00Z)"`
	}
	auditOut struct {
		Link       string `header:"Link" doc:"when older events follow: <the next page's path>; rel=\"next\""`
		NextBefore string `header:"X-Next-Before" doc:"when older events follow: the before of the next page"`
		Body       []auditEvent
	}
	adminAuditOut struct {
		Link       string `header:"Link" doc:"when older events follow: <the next page's path>; rel=\"next\""`
		NextBefore string `header:"X-Next-Before" doc:"when older events follow: the before of the next page"`
		Body       []adminAuditEvent
	}
)

// Resolve refuses a parameter sent empty (limit=, since=): huma takes an
// empty query value for an absent one, but the document calls it invalid,
// and a client that sends one means something.
// It also refuses the administrator's filters, which /audit does not
// have: a client that sends one expects it applied, and would otherwise
// read an unfiltered answer as a filtered one.
func (in *auditIn) Resolve(ctx huma.Context) []error {
	errs := emptyParams(ctx, "limit", "before")
	u := ctx.URL()
	q := u.Query()
	for _, name := range []string{"user", "type", "since"} {
		if _, ok := q[name]; ok {
			errs = append(errs, &huma.ErrorDetail{Location: "query." + name, Message: "only GET /admin/audit filters by " + name})
		}
	}
	return errs
}

// Resolve: see auditIn's.
func (in *adminAuditIn) Resolve(ctx huma.Context) []error {
	return emptyParams(ctx, "limit", "before", "user", "type", "since")
}

func emptyParams(ctx huma.Context, names ...string) []error {
	u := ctx.URL()
	q := u.Query()
	var errs []error
	for _, name := range names {
		if vs, ok := q[name]; ok && (len(vs) == 0 || vs[0] == "") {
			errs = append(errs, &huma.ErrorDetail{Location: "query." + name, Message: "must not be empty: leave it out instead"})
		}
	}
	return errs
}

// auditTime is the time of an event as the API and the export write it.
func auditTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// nextPage is the Link header of a page that has a next one: the same
// query with before moved on.
func nextPage(path string, q url.Values, next string) string {
	q.Set("before", next)
	return "<" + path + "?" + q.Encode() + `>; rel="next"`
}

func (s *Server) auditRoutes() {
	handle(s, huma.Operation{
		OperationID: "my-audit-events", Method: http.MethodGet, Path: "/audit", Tags: []string{"audit"},
		Summary: "The caller's own security events, newest first",
		Description: "What the caller did (logins, codes, changes, records read and written) and the logins and codes tried on their account, " +
			"from the audit trail. One page of `limit` events (50 unless asked); when older ones follow, the answer has " +
			"`Link: </audit?before=ID&limit=N>; rel=\"next\"` and `X-Next-Before: ID`. Events are named by opaque ids, not by their place in the " +
			"trail, which would show how many events other users caused.",
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *auditIn) (*auditOut, error) {
		page, err := s.svc.MyAuditEvents(ctx, p, in.Before, in.Limit)
		if err != nil {
			return nil, err
		}
		out := &auditOut{Body: make([]auditEvent, len(page.Events))}
		for i, e := range page.Events {
			out.Body[i] = auditEvent{ID: s.svc.AuditEventID(e.Seq), Time: auditTime(e.Time), Type: e.Type, Outcome: e.Outcome, Target: e.Target,
				Client: e.Client, RequestID: e.RequestID}
		}
		if page.Next > 0 {
			next := s.svc.AuditEventID(page.Next)
			out.Link = nextPage("/audit", url.Values{"limit": {strconv.Itoa(in.Limit)}}, next)
			out.NextBefore = next
		}
		return out, nil
	})

	handle(s, huma.Operation{
		OperationID: "admin-audit-events", Method: http.MethodGet, Path: "/admin/audit", Tags: []string{"audit"},
		Summary:     "Every user's security events, newest first (admin)",
		Description: "Filtered by `user`, `type` and `since`, paged like GET /audit.",
		Errors:      []int{c403, c429},
	}, tokenHolder, func(ctx context.Context, p *service.Principal, in *adminAuditIn) (*adminAuditOut, error) {
		page, err := s.svc.AuditEvents(ctx, p, strongroom.AuditFilter{UserID: string(in.User), Type: string(in.Type), Since: in.Since,
			Before: in.Before, Limit: in.Limit})
		if err != nil {
			return nil, err
		}
		out := &adminAuditOut{Body: make([]adminAuditEvent, len(page.Events))}
		for i, e := range page.Events {
			out.Body[i] = adminAuditEvent{Seq: e.Seq, Time: auditTime(e.Time), Type: e.Type, Outcome: e.Outcome, UserID: e.UserID,
				Target: e.Target, Client: e.Client, RequestID: e.RequestID}
		}
		if page.Next > 0 {
			q := url.Values{"limit": {strconv.Itoa(in.Limit)}}
			if in.User != "" {
				q.Set("user", string(in.User))
			}
			if in.Type != "" {
				q.Set("type", string(in.Type))
			}
			if !in.Since.IsZero() {
				q.Set("since", in.Since.UTC().Format(time.RFC3339Nano))
			}
			out.NextBefore = strconv.FormatInt(page.Next, 10)
			out.Link = nextPage("/admin/audit", q, out.NextBefore)
		}
		return out, nil
	})
}
