package strongroom

import (
	"context"
	"time"
)

// Store keeps all shared state: accounts, wrapped data keys, encrypted
// records, one-time-code challenges and rotation progress. Two
// implementations exist (sqlite, mongo); both pass the conformance suite in
// storetest. Methods return *Error values: KindNotFound when a thing is
// absent (or belongs to someone else), KindConflict on a duplicate,
// KindUnavailable when the store cannot be reached.
type Store interface {
	UserStore
	RecordStore
	KeyStore
	ChallengeStore
	RecoveryStore
	RotationStore
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// Lockout is the login lockout policy: after MaxFailures consecutive
// failures the account is locked until Window has passed since the last one.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
}

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser inserts u and its wrapped data key in one step. When
	// firstIsAdmin is set and the store holds no account at all (none
	// registered, none put there by another program), u becomes the admin
	// (u.IsAdmin is set); of parallel first registrations exactly one does.
	// A taken username or email is KindConflict. A key
	// wrapped under a version older than the latest rotation's target is
	// refused with ErrStaleKey, so no key can slip in under a master-key
	// version that a rotation is about to retire.
	CreateUser(ctx context.Context, u *User, key WrappedKey, firstIsAdmin bool) error
	UserByUsername(ctx context.Context, username string) (*User, error)
	// SetAdmin grants (admin) or revokes an account's administrator role,
	// by username: KindNotFound if there is no such account.
	SetAdmin(ctx context.Context, username string, admin bool) error
	UserByID(ctx context.Context, id string) (*User, error)
	// ClaimLoginAttempt counts one failure before the password is checked,
	// in one atomic update, so parallel guesses cannot exceed the limit. It
	// returns KindLocked, with RetryAfter, if the account is locked.
	ClaimLoginAttempt(ctx context.Context, userID string, now time.Time, policy Lockout) error
	// ResetLoginFailures clears the failure count after a correct password.
	ResetLoginFailures(ctx context.Context, userID string) error
	// SetSecondFactors writes the user's second-factor settings.
	SetSecondFactors(ctx context.Context, userID string, f SecondFactors) error
	// UseTOTPStep records that a TOTP code of step was accepted, only if no
	// code of that step or a later one was: KindConflict otherwise, so a
	// code is accepted once, even by parallel requests.
	UseTOTPStep(ctx context.Context, userID string, step int64) error
}

// RecoveryStore keeps the keyed hashes of users' recovery codes.
type RecoveryStore interface {
	// ReplaceRecoveryCodes replaces all of the user's codes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string) error
	// UseRecoveryCode deletes one code; KindNotFound if it is not the
	// user's or was used, so each code works once.
	UseRecoveryCode(ctx context.Context, userID, hash string) error
}

// RecordStore keeps encrypted records. Every method is scoped by owner: a
// record of another user is KindNotFound.
type RecordStore interface {
	CreateRecord(ctx context.Context, r *Record) error
	Record(ctx context.Context, userID, id string) (*Record, error)
	// Records returns the user's records, oldest first.
	Records(ctx context.Context, userID string) ([]*Record, error)
	// UpdateRecord replaces data_type, encrypted_value and updated time.
	UpdateRecord(ctx context.Context, r *Record) error
	DeleteRecord(ctx context.Context, userID, id string) error
}

// WrappedKey is a data key encrypted by the key manager's master key
// (KEK), with the KEK version that wrapped it.
type WrappedKey struct {
	Ciphertext string
	Version    int
}

// ErrUsernameTaken and ErrEmailTaken refuse a registration whose username
// or email another account has.
var (
	ErrUsernameTaken = &Error{Kind: KindConflict, Message: "username already registered"}
	ErrEmailTaken    = &Error{Kind: KindConflict, Message: "email already registered"}
)

// ErrStaleKey refuses a data key wrapped under a master-key version that a
// rotation has moved past; wrap it again and retry.
var ErrStaleKey = &Error{Kind: KindConflict, Message: "data key wrapped under an old master key version"}

// UserKey is a user's wrapped data key.
type UserKey struct {
	UserID string
	Key    WrappedKey
}

// KeyUpdate replaces a wrapped key, only if it is still at From's version.
type KeyUpdate struct {
	UserID string
	From   int
	To     WrappedKey
}

// KeyStore keeps wrapped data keys (table or collection user_keys).
type KeyStore interface {
	UserKey(ctx context.Context, userID string) (WrappedKey, error)
	// KeysBelowVersion returns up to limit keys wrapped by a KEK version
	// older than version, ordered by user id.
	KeysBelowVersion(ctx context.Context, version, limit int) ([]UserKey, error)
	CountKeysBelowVersion(ctx context.Context, version int) (int, error)
	// UpdateKeys applies the updates whose key is still at From's version
	// and returns how many it applied.
	UpdateKeys(ctx context.Context, updates []KeyUpdate) (int, error)
}

// Purpose says what a one-time-code challenge completes.
type Purpose string

// Challenge purposes.
const (
	PurposeLogin  Purpose = "login"  // second step of a login, after the password
	PurposeEnroll Purpose = "enroll" // turning email 2FA on, with a bearer token
)

// Challenge is a pending one-time code. Only its keyed hash is stored.
type Challenge struct {
	ID        string
	UserID    string
	Purpose   Purpose
	CodeHash  string
	Attempts  int
	CreatedAt time.Time
	ExpiresAt time.Time
}

// ChallengeStore keeps one-time-code challenges, at most one per user and
// purpose.
type ChallengeStore interface {
	// PutChallenge stores c, replacing the user's challenge of that purpose.
	PutChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns the user's live challenge of that purpose, or
	// KindNotFound if none is live at now.
	Challenge(ctx context.Context, userID string, purpose Purpose, now time.Time) (*Challenge, error)
	// ClaimChallengeAttempt counts one try before the code is compared, in
	// one atomic update; KindNotFound if the challenge is gone, expired or
	// has used up max tries.
	ClaimChallengeAttempt(ctx context.Context, id string, now time.Time, max int) error
	// ConsumeChallenge deletes the challenge; KindNotFound if another caller
	// consumed it first, so a code is accepted once.
	ConsumeChallenge(ctx context.Context, id string) error
}

// RotationState is where a master-key rotation stands.
type RotationState string

// Rotation states.
const (
	RotationNone       RotationState = ""           // never rotated
	RotationRewrapping RotationState = "rewrapping" // new KEK made, data keys being rewrapped
	RotationDone       RotationState = "done"
)

// Rotation is the progress of the latest master-key rotation.
type Rotation struct {
	State         RotationState
	TargetVersion int
	Rewrapped     int
	StartedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    time.Time
}

// RotationStore keeps rotation progress and a lease, so one rotation runs
// at a time across processes and a crashed one can be resumed.
type RotationStore interface {
	Rotation(ctx context.Context) (Rotation, error)
	// BeginRotation takes the rotation lease for owner until now+ttl and
	// returns the stored progress. KindConflict if another owner holds a
	// lease that has not expired.
	BeginRotation(ctx context.Context, owner string, now time.Time, ttl time.Duration) (Rotation, error)
	// SaveRotation stores progress and renews the lease; KindConflict if
	// owner no longer holds it. A RotationDone state releases the lease.
	SaveRotation(ctx context.Context, owner string, r Rotation, now time.Time, ttl time.Duration) error
}
