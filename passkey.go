package strongroom

import (
	"context"
	"time"
)

// Passkey is a WebAuthn credential registered to an account: signing in
// with it is both factors at once. Only public material is kept: the
// private key never leaves the user's authenticator.
type Passkey struct {
	ID           string // names it in URLs (an ObjectId, as every id)
	UserID       string
	CredentialID []byte // the authenticator's id for it; unique across all accounts
	Name         string // the user's label for it
	PublicKey    []byte // COSE_Key
	AAGUID       []byte // the authenticator model, 16 bytes (zero if not told)
	// SignCount is the authenticator's signature counter at the last use:
	// one that goes backwards betrays a cloned authenticator. Synced
	// passkeys keep it at 0.
	SignCount      uint32
	BackupEligible bool // may be synced to other devices (fixed at registration)
	BackupState    bool // is synced, as of the last use
	Transports     []string
	CreatedAt      time.Time
	LastUsedAt     time.Time // zero if never used to sign in
}

// Limits on passkeys.
const (
	MaxPasskeys        = 20 // per account
	MaxPasskeyNameLen  = 64
	MaxCredentialIDLen = 1023 // WebAuthn's own bound
)

// ErrPasskeyTaken refuses a credential that is registered already (to
// this account or another).
var ErrPasskeyTaken = &Error{Kind: KindConflict, Message: "this passkey is registered already"}

// ErrPasskeyLimit refuses a passkey past MaxPasskeys.
var ErrPasskeyLimit = Errorf(KindConflict, "an account may have at most %d passkeys: remove one first", MaxPasskeys)

// ErrPasskeyUsed refuses a use of a passkey whose counter another use
// has moved meanwhile (a cloned authenticator's, or a race of two).
var ErrPasskeyUsed = Errorf(KindConflict, "the passkey was used meanwhile")

// PasskeyStore keeps passkeys (table or collection passkeys). Passkeys
// go with their account (DeleteUser).
type PasskeyStore interface {
	// AddPasskey stores p unless its user has max passkeys already
	// (ErrPasskeyLimit): the count and the insert are one atomic step, so
	// parallel adds cannot overshoot. ErrPasskeyTaken if its CredentialID
	// is stored.
	AddPasskey(ctx context.Context, p *Passkey, max int) error
	// Passkeys returns the user's passkeys, oldest first.
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	// PasskeyByCredential returns the passkey with that credential id, or
	// KindNotFound.
	PasskeyByCredential(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a sign-in with the user's passkey, only if its
	// counter is still from (the one the sign-in was checked against):
	// ErrPasskeyUsed otherwise, so of two answers made with one counter
	// value (a cloned authenticator) one is accepted, and the counter
	// never goes back. It stores the counter, backup state and time.
	// KindNotFound if the passkey is gone.
	UsePasskey(ctx context.Context, userID, id string, from, signCount uint32, backupState bool, at time.Time) error
	// DeletePasskey deletes one of the user's passkeys; KindNotFound if
	// the user has no such passkey.
	DeletePasskey(ctx context.Context, userID, id string) error
}

// CeremonyStore keeps the challenges of passkey ceremonies under way, as
// keyed hashes, so that each is answered at most once and only while live.
type CeremonyStore interface {
	// PutCeremony stores a challenge's hash until expires, and drops
	// the ones expired at now while it is at it.
	PutCeremony(ctx context.Context, hash string, now, expires time.Time) error
	// TakeCeremony deletes a live challenge's hash: KindNotFound if it was
	// never stored, has expired or was taken already (by any caller).
	TakeCeremony(ctx context.Context, hash string, now time.Time) error
}
