package strongroom

import (
	"context"
	"time"
)

// AuditEvent is one security event of the audit trail: who did what to
// what, when, from where, and how it went. It never holds a value, a
// password, a code, a token or a key: only ids, names and addresses.
//
// Events form a chain: each event's Hash is a MAC (package audit) over its
// content and Prev, the previous event's Hash, so an event cannot be
// edited, removed, moved or slipped in without breaking the chain.
type AuditEvent struct {
	Seq       int64     // position in the chain, from 1, given by the store
	Time      time.Time // UTC; stored and hashed to the millisecond
	Type      string    // what happened: one of the Audit* types, e.g. "login.failure"
	Outcome   string    // AuditSuccess or AuditFailure (or another short word)
	UserID    string    // the acting user's id; "" if not known (an unknown username)
	Target    string    // what was acted on: a record id, a user id, a session id; "" if none
	Client    string    // the client's address
	RequestID string    // the request's id (X-Request-Id); "" for work no request started
	Prev      []byte    // the previous event's Hash (AuditGenesis for the first event)
	Hash      []byte    // MAC over this event and Prev
}

// Audit event types. The service emits these; the names are stored, so
// they never change.
const (
	AuditRegister         = "register"
	AuditLoginSuccess     = "login.success"
	AuditLoginFailure     = "login.failure"
	AuditLoginLocked      = "login.locked"
	AuditOTPSent          = "otp.sent"
	AuditOTPVerified      = "otp.verified"
	AuditOTPFailure       = "otp.failure"
	Audit2FAEnabled       = "2fa.enabled"
	Audit2FADisabled      = "2fa.disabled"
	AuditRecordCreate     = "record.create"
	AuditRecordRead       = "record.read" // one per record returned, a list's included
	AuditRecordUpdate     = "record.update"
	AuditRecordDelete     = "record.delete"
	AuditKeyRotateStart   = "key.rotate.start"
	AuditKeyRotateDone    = "key.rotate.done"
	AuditLogout           = "session.logout"
	AuditSessionRevoked   = "session.revoked"
	AuditPasswordChanged  = "password.changed"
	AuditAccountDeleted   = "account.deleted"
	AuditAccountUnlocked  = "account.unlocked"
	AuditRecoveryReplaced = "2fa.recovery_codes"
	AuditPasskeyAdded     = "passkey.added"
	AuditPasskeyRemoved   = "passkey.removed"
)

// AuditTypes returns every event type the service emits, in the order
// of the constants: what GET /admin/audit's type filter accepts.
func AuditTypes() []string {
	return []string{AuditRegister, AuditLoginSuccess, AuditLoginFailure, AuditLoginLocked, AuditOTPSent, AuditOTPVerified,
		AuditOTPFailure, Audit2FAEnabled, Audit2FADisabled, AuditRecordCreate, AuditRecordRead, AuditRecordUpdate,
		AuditRecordDelete, AuditKeyRotateStart, AuditKeyRotateDone, AuditLogout, AuditSessionRevoked, AuditPasswordChanged,
		AuditAccountDeleted, AuditAccountUnlocked, AuditRecoveryReplaced, AuditPasskeyAdded, AuditPasskeyRemoved}
}

// Audit outcomes.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
)

// AuditHashSize is the size of an event's Hash: HMAC-SHA256.
const AuditHashSize = 32

// AuditGenesis returns the Prev of the first event of a chain that was
// never pruned: AuditHashSize zero bytes.
func AuditGenesis() []byte { return make([]byte, AuditHashSize) }

// AuditHead is the chain's last event as the store recorded it after each
// append: its Seq and Hash. It is kept apart from the events so that a cut
// of the tail (the newest events deleted) shows: the chain no longer
// reaches the head. Seq 0 (with AuditGenesis) is the head of an empty
// chain.
type AuditHead struct {
	Seq  int64
	Hash []byte
}

// AuditStart records where a pruned chain starts: the first kept event's
// Seq and its Prev, with a MAC over both (package audit), so the oldest
// kept events cannot be deleted and passed off as pruned. Seq 0: the chain
// was never pruned and starts at seq 1 with AuditGenesis.
type AuditStart struct {
	Seq  int64
	Prev []byte
	MAC  []byte
}

// AuditLink computes an event's Hash once the store has set its Seq and
// Prev. Package audit supplies it (audit.Link), so the stores never hold
// the key.
type AuditLink func(e *AuditEvent) []byte

// AuditSeal computes the MAC of an AuditStart (audit.Seal).
type AuditSeal func(s AuditStart) []byte

// MaxAuditPage bounds the events one AuditEvents or AuditChain call returns.
const MaxAuditPage = 1000

// AuditFilter selects events for AuditEvents. Zero fields select all.
type AuditFilter struct {
	UserID string    // only this user's events
	Type   string    // only events of this type
	Since  time.Time // only events at or after this time
	Before int64     // only events with a Seq below this (the next page of a list)
	Limit  int       // at most this many, 1 to MaxAuditPage (larger is cut, smaller is 1)
}

// AuditStore keeps the audit trail (table or collection audit_events) with
// its head and start records. Every method returns *Error values, as the
// rest of the Store does.
type AuditStore interface {
	// AppendAudit adds events, in order, at the end of the chain, in one
	// step: each gets the next Seq, Prev is the Hash before it, and Hash
	// is link(e). On success every event has its Seq, Prev and Hash set,
	// is durable and the head names the last one. Appends from several
	// servers on one store at once make one unbroken chain. On an error
	// none of the events may be stored, or, on MongoDB, a first part of
	// them (never a gap).
	AppendAudit(ctx context.Context, events []*AuditEvent, link AuditLink) error
	// AuditEvents returns up to f.Limit events matching f, newest (highest
	// Seq) first: what GET /audit and /admin/audit list. To read the next
	// page, pass the last event's Seq as f.Before.
	AuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)
	// AuditChain returns up to limit (1 to MaxAuditPage) events with a Seq
	// above after, oldest first: the chain as it is stored, for verifying
	// and exporting.
	AuditChain(ctx context.Context, after int64, limit int) ([]*AuditEvent, error)
	// AuditHead returns the recorded head: KindNotFound if the store has
	// no head record at all (which only a hand on the database causes).
	AuditHead(ctx context.Context) (AuditHead, error)
	// AuditStart returns where the chain starts; Seq 0 if it was never
	// pruned.
	AuditStart(ctx context.Context) (AuditStart, error)
	// PruneAudit deletes the events older than before, and returns how
	// many it deleted. The newest event and the head's event are always
	// kept, so the chain never starts over. The new start (the first kept
	// event's Seq and Prev, sealed by seal) is recorded before, or with,
	// the deletion, so a crash in between leaves old events that a later
	// prune removes, never a start that the events contradict.
	PruneAudit(ctx context.Context, before time.Time, seal AuditSeal) (int, error)
}
