package strongroom

import (
	"context"
	"fmt"
)

// KeyManager holds the versioned master key (KEK) and wraps data keys with
// it. The master key never leaves it. Two implementations: localkms (a
// keyring file, one machine) and vault (HashiCorp Vault Transit). Failures
// to reach it are KindUnavailable.
type KeyManager interface {
	// Wrap encrypts a data key under the newest KEK version, bound to owner:
	// a wrapped key copied to another user does not unwrap.
	Wrap(ctx context.Context, owner string, dek []byte) (WrappedKey, error)
	// Unwrap returns the data keys of keys, in their order, in as few
	// calls to the key manager as it allows (Vault Transit: one batch). A
	// key that does not unwrap fails alone, with its Err; the error
	// returned is the call's (unreachable, say), and then nothing is
	// unwrapped. The caller zeroes every DEK after use.
	Unwrap(ctx context.Context, keys []UserKey) ([]Unwrapped, error)
	// Rotate makes a new KEK version and returns it.
	Rotate(ctx context.Context) (int, error)
	// Rewrap re-encrypts wrapped keys under the newest KEK version without
	// revealing them; results are in the order of keys.
	Rewrap(ctx context.Context, keys []UserKey) ([]WrappedKey, error)
	// Retire removes every KEK version older than below. The caller first
	// makes sure no data key uses one.
	Retire(ctx context.Context, below int) error
	// Versions returns the newest and oldest KEK versions kept.
	Versions(ctx context.Context) (newest, oldest int, err error)
	Ping(ctx context.Context) error
}

// Unwrapped is one data key Unwrap returned, or why it did not.
type Unwrapped struct {
	DEK []byte
	Err error
}

// UnwrapOne unwraps one data key with k: a batch of one.
func UnwrapOne(ctx context.Context, k KeyManager, owner string, w WrappedKey) ([]byte, error) {
	out, err := k.Unwrap(ctx, []UserKey{{UserID: owner, Key: w}})
	if err != nil {
		return nil, err
	}
	if len(out) != 1 {
		return nil, Internal("key manager", fmt.Errorf("%d data keys for 1", len(out)))
	}
	return out[0].DEK, out[0].Err
}

// Mail is one message to a user.
type Mail struct {
	To      string
	Subject string
	Body    string
}

// Mailer delivers mail: an outbox of files on the embedded default, SMTP in
// production. Send fails with KindUnavailable when delivery fails.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}
