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
	SessionStore
	AuditStore
	LimitStore
	PasskeyStore
	CeremonyStore
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
	Close() error
}

// Lockout is a lockout policy: after MaxFailures consecutive failures the
// account is locked until Window has passed since the last one.
type Lockout struct {
	MaxFailures int
	Window      time.Duration
}

// Locked reports whether failures, the newest at last, lock at now.
func (p Lockout) Locked(failures int, last, now time.Time) bool {
	return failures >= p.MaxFailures && last.After(now.Add(-p.Window))
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
	// in one atomic update, so parallel guesses cannot exceed the limit, and
	// returns the count with this one. It returns KindLocked, with
	// RetryAfter, if the account is locked.
	ClaimLoginAttempt(ctx context.Context, userID string, now time.Time, policy Lockout) (int, error)
	// ClaimUnknownLoginAttempt is ClaimLoginAttempt for a username that
	// names no account, so an unknown name locks exactly like a known one.
	// name is what the count is kept under: the service passes a keyed
	// hash of the username (otp.UnknownNameHash), never the name itself.
	ClaimUnknownLoginAttempt(ctx context.Context, name string, now time.Time, policy Lockout) error
	// ResetLoginFailures clears the failure count after a correct password.
	ResetLoginFailures(ctx context.Context, userID string) error
	// ClaimSecondFactorAttempt counts one failed second factor before the
	// code is checked, like ClaimLoginAttempt, except that the count is
	// forgotten only by ResetSecondFactorFailures, never by time: once
	// locked, each further failure after the window locks again.
	ClaimSecondFactorAttempt(ctx context.Context, userID string, now time.Time, policy Lockout) (int, error)
	// ResetSecondFactorFailures clears that count after a correct factor.
	ResetSecondFactorFailures(ctx context.Context, userID string) error
	// SetSecondFactors writes the user's second-factor settings, only if
	// they are still at version from (User.FactorsVersion), and moves the
	// version on: KindConflict otherwise, so two changes made from the same
	// read cannot silently undo each other.
	SetSecondFactors(ctx context.Context, userID string, from int64, f SecondFactors) error
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
	// CreateRecord inserts r unless the user's records would exceed q:
	// ErrRecordQuota or ErrByteQuota then, and nothing is stored. The check
	// and the insert are one atomic step per user, so parallel creates
	// cannot overshoot the quota.
	CreateRecord(ctx context.Context, r *Record, q Quota) error
	Record(ctx context.Context, userID, id string) (*Record, error)
	// Records returns up to limit (at least 1) of the user's records that
	// follow after in list order: oldest first, by created time, then id.
	// A zero after starts at the first record.
	Records(ctx context.Context, userID string, after RecordCursor, limit int) ([]*Record, error)
	// RecordCursors is Records without the values: only each record's
	// place in the list, for the next-page link of a paginated list.
	RecordCursors(ctx context.Context, userID string, after RecordCursor, limit int) ([]RecordCursor, error)
	// RecordUsage returns how many records the user has and the bytes of
	// their encrypted values, as the quota counts them.
	RecordUsage(ctx context.Context, userID string) (Usage, error)
	// UpdateRecord replaces data_type, encrypted_value and updated time,
	// unless the new value would take the user's bytes over q
	// (ErrByteQuota, and nothing changes).
	UpdateRecord(ctx context.Context, r *Record, q Quota) error
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

// ErrFactorsChanged refuses a change to the second factors made from a
// read that another change has overtaken.
var ErrFactorsChanged = &Error{Kind: KindConflict, Message: "the two-factor settings changed meanwhile; reload and try again"}

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
	PurposeUnlock Purpose = "unlock" // lifting a login lockout with a mailed code
	// PurposeUnlocked lets the address that unlocked an account log in
	// despite a lock put back by others.
	PurposeUnlocked  Purpose = "unlocked"
	PurposeTOTPSetup Purpose = "totp_setup" // an authenticator setup waiting for its confirm
)

// Challenge is a pending one-time code. Only keyed hashes are stored.
type Challenge struct {
	ID      string
	UserID  string
	Purpose Purpose
	// CodeHash is the keyed hash of a mailed 6-digit code; "" when no code
	// was mailed (then no code matches).
	CodeHash string
	// LookupHash is the keyed hash of what a client presents to name the
	// challenge (a login challenge, an unlock code); "" if it has none.
	// Unique among live challenges.
	LookupHash string
	Attempts   int
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// ChallengeStore keeps one-time-code challenges, at most one per user and
// purpose.
type ChallengeStore interface {
	// PutChallenge stores c, replacing the user's challenge of that purpose.
	PutChallenge(ctx context.Context, c *Challenge) error
	// Challenge returns the user's live challenge of that purpose, or
	// KindNotFound if none is live at now.
	Challenge(ctx context.Context, userID string, purpose Purpose, now time.Time) (*Challenge, error)
	// ChallengeByLookup returns the live challenge with that LookupHash, or
	// KindNotFound.
	ChallengeByLookup(ctx context.Context, lookupHash string, now time.Time) (*Challenge, error)
	// SetChallengeCode gives a live challenge a new code hash (a re-sent
	// code), keeping its tries and its end; KindNotFound if it was consumed,
	// so a used challenge never comes back.
	SetChallengeCode(ctx context.Context, id, codeHash string) error
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
