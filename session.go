package strongroom

import (
	"context"
	"time"
)

// Session is a signed-in client: one per issued token, named by the
// token's jti, kept in the store until the token expires. An ended
// session stays, as a tombstone, until then too, so that every replica
// keeps refusing its token.
type Session struct {
	ID        string // the token's jti: 32 hexadecimal digits
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	Client    string // the client's address when the session began
	UserAgent string // its User-Agent header, shortened
	EndedAt   time.Time
	EndReason EndReason // why it ended; "" while live
}

// Live reports whether the session is live at now.
func (s *Session) Live(now time.Time) bool { return s.EndedAt.IsZero() && now.Before(s.ExpiresAt) }

// EndReason says why a session ended.
type EndReason string

// Reasons a session ends.
const (
	EndLogout          EndReason = "logout"           // POST /logout with its token
	EndRevoked         EndReason = "revoked"          // DELETE /sessions/{id}
	EndPasswordChanged EndReason = "password_changed" // every other session of the user
	EndTwoFactorOff    EndReason = "two_factor_off"   // every other session of the user
	EndAccountDeleted  EndReason = "account_deleted"  // every session of the user
	EndPasskeyRemoved  EndReason = "passkey_removed"  // every other session of the user
	// EndSuperseded ends a session made from a read older than the end
	// of all the user's sessions (a login racing a password change).
	EndSuperseded EndReason = "superseded"
)

// ErrSessionsEnded refuses a session made from a read of the user that
// an end of all the user's sessions (or the account's deletion) has
// overtaken: the login must start again.
var ErrSessionsEnded = &Error{Kind: KindConflict, Message: "the account's sessions were ended meanwhile; log in again"}

// SessionStore keeps sessions and the end of accounts.
type SessionStore interface {
	// CreateSession stores s (a tombstone if s.EndedAt is set) only while
	// the user's sessions epoch is still epoch (User.SessionsEpoch, read
	// before the credentials were checked) and the user is not being
	// deleted: ErrSessionsEnded otherwise. So a token issued from a read
	// older than EndSessions, SetPassword or DestroyUserKey never works.
	// A taken id is KindConflict.
	CreateSession(ctx context.Context, s *Session, epoch int64) error
	// Sessions returns up to limit of the user's sessions live at now,
	// newest first.
	Sessions(ctx context.Context, userID string, now time.Time, limit int) ([]*Session, error)
	// EndSession ends the user's session id, live at now, and returns it
	// ended; KindNotFound if it is another user's, unknown, ended or
	// expired.
	EndSession(ctx context.Context, userID, id string, reason EndReason, now time.Time) (*Session, error)
	// EndSessions ends every session of the user live at now except keep
	// ("" for none) and returns those it ended. First it moves the user's
	// sessions epoch on and deletes the user's pending login challenges,
	// so no login that began before the call can add a session after it.
	EndSessions(ctx context.Context, userID, keep string, reason EndReason, now time.Time) ([]*Session, error)
	// EndedSessions returns the sessions (of any user) that ended at or
	// after since, oldest end first: what every replica polls to refuse
	// ended sessions' tokens.
	EndedSessions(ctx context.Context, since time.Time) ([]*Session, error)
	// PurgeSessions deletes the sessions, live or ended, that expired
	// before before, and returns how many.
	PurgeSessions(ctx context.Context, before time.Time) (int, error)

	// SetPassword replaces the user's password hash and salt and moves the
	// sessions epoch on in one write, then ends every other session of the
	// user (all but keep) as EndSessions does, and returns those it ended.
	// It writes only while the user's sessions epoch is still epoch (read
	// before the current password was checked): ErrSessionsEnded if
	// another password change, an end of all sessions or the deletion came
	// since, so a change that proved a password no longer the account's
	// does not overwrite the one that replaced it.
	SetPassword(ctx context.Context, userID, hash, salt, keep string, epoch int64, now time.Time) ([]*Session, error)

	// DestroyUserKey is the first step of deleting an account: in one
	// durable step it marks the user as being deleted at now (from then
	// on UserByID and UserByUsername do not find it, and no session can
	// be made) and deletes the wrapped data key, so every record of the
	// user is unreadable from then on, whatever happens next. On SQLite
	// the key's bytes are overwritten in the database file and the
	// write-ahead log is checkpointed and truncated. Calling it again for
	// a user being deleted finishes the step and keeps the first time.
	// KindNotFound if there is no such user.
	DestroyUserKey(ctx context.Context, userID string, now time.Time) error
	// DeleteUser is the last step: it deletes the records, recovery codes,
	// challenges and usage of a user being deleted, then the user, and
	// returns how many records it deleted. KindNotFound if there is no
	// such user; KindConflict if the user is not being deleted.
	DeleteUser(ctx context.Context, userID string) (int, error)
	// UsersBeingDeleted returns up to limit users whose deletion began
	// (User.DeletedAt set) and was not finished, oldest first.
	UsersBeingDeleted(ctx context.Context, limit int) ([]*User, error)
}
