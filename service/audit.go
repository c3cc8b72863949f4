package service

import (
	"context"
	"strconv"
	"time"

	"github.com/strongroom/strongroom"
)

// Auditor records the service's audit events: *audit.Trail. Record
// returns once the event is durable; RecordAsync queues it to be appended
// within a few milliseconds (or waits too, where a deployment asks every
// event to be durable). Both fill in the time, the request id and the
// client address from ctx. A Service cannot be built without one.
type Auditor interface {
	Record(ctx context.Context, e strongroom.AuditEvent) error
	RecordAsync(ctx context.Context, e strongroom.AuditEvent) error
}

// Outcome of the password step of a login that needs a second factor: the
// password was right, and no session exists yet.
const outcomeSecondFactor = "second_factor_required"

// An otp.* event names the kind of code (a CodeKind) as its target.

// audit records an event durably before the request goes on: the event
// of an authentication, a change or a key operation. If it cannot be
// stored, the request fails (503) rather than go on unaudited; the error
// never names the event's content.
func (s *Service) audit(ctx context.Context, typ, outcome, userID, target string) error {
	err := s.cfg.Audit.Record(ctx, strongroom.AuditEvent{Type: typ, Outcome: outcome, UserID: userID, Target: target})
	if err == nil {
		return nil
	}
	s.log.ErrorContext(ctx, "audit event could not be stored; the request fails", "type", typ, "user_id", userID, "err", err)
	return auditErr(err)
}

// auditRead records that a record's value is being returned, without
// waiting for the append (group commit: see package audit). If even the
// queue refuses it (closed, or full until the request ends), the value is
// not returned.
func (s *Service) auditRead(ctx context.Context, userID, recordID string) error {
	err := s.cfg.Audit.RecordAsync(ctx, strongroom.AuditEvent{Type: strongroom.AuditRecordRead, Outcome: strongroom.AuditSuccess,
		UserID: userID, Target: recordID})
	if err != nil {
		return auditErr(err)
	}
	return nil
}

// refused records a refusal (a wrong password or code, a lock) and
// returns the refusal's answer, or 503 if the event could not be stored:
// no failed attempt goes unrecorded.
func (s *Service) refused(ctx context.Context, answer error, typ, userID, target string) error {
	if err := s.audit(ctx, typ, strongroom.AuditFailure, userID, target); err != nil {
		return err
	}
	return answer
}

// auditLater records an event of work done after the answer (an unlock
// code mailed): no one waits for it, so a failure is only logged.
func (s *Service) auditLater(ctx context.Context, typ, outcome, userID, target string) {
	if err := s.cfg.Audit.Record(ctx, strongroom.AuditEvent{Type: typ, Outcome: outcome, UserID: userID, Target: target}); err != nil {
		s.log.ErrorContext(ctx, "audit event could not be stored", "type", typ, "user_id", userID, "err", err)
	}
}

func auditErr(err error) error {
	if strongroom.IsKind(err, strongroom.KindInvalid) {
		return strongroom.Internal("audit event", err) // a bug: the service made an event no store can keep
	}
	return &strongroom.Error{Kind: strongroom.KindUnavailable, Message: "the audit trail cannot record this request right now; try again shortly",
		RetryAfter: 5 * time.Second, Err: err}
}

// versionTarget names a master-key version as a key.rotate.* target ("v2");
// "" while it is not known.
func versionTarget(v int) string {
	if v <= 0 {
		return ""
	}
	return "v" + strconv.Itoa(v)
}
