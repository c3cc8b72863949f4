package metrics

import (
	"context"
	"time"

	"github.com/strongroom/strongroom"
)

// KeyManager returns k with each call counted and timed, by operation
// (wrap, unwrap, rewrap, rotate, retire, versions, ping) and result. The
// operation is the method's, whichever key manager (local keyring or
// Vault) is behind it; strongroom_backends_info says which.
func (m *Metrics) KeyManager(k strongroom.KeyManager) strongroom.KeyManager {
	return &keyManager{k: k, m: m}
}

type keyManager struct {
	k strongroom.KeyManager
	m *Metrics
}

var _ strongroom.KeyManager = (*keyManager)(nil)

// done records a call that began at start and ended with *err. Deferred,
// it records a call that panicked too (as ok: the panic is someone
// else's to report).
func (k *keyManager) done(op string, start time.Time, err *error) {
	k.m.kmDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	k.m.kmCalls.WithLabelValues(op, result(*err)).Inc()
}

// result is "ok" or the error's kind (internal for a foreign error): a
// fixed set, with no message in it.
func result(err error) string {
	if err == nil {
		return "ok"
	}
	return string(strongroom.ErrorKind(err))
}

func (k *keyManager) Wrap(ctx context.Context, owner string, dek []byte) (_ strongroom.WrappedKey, err error) {
	defer k.done("wrap", time.Now(), &err)
	return k.k.Wrap(ctx, owner, dek)
}

func (k *keyManager) Unwrap(ctx context.Context, keys []strongroom.UserKey) (_ []strongroom.Unwrapped, err error) {
	defer k.done("unwrap", time.Now(), &err)
	return k.k.Unwrap(ctx, keys)
}

func (k *keyManager) Rotate(ctx context.Context) (_ int, err error) {
	defer k.done("rotate", time.Now(), &err)
	return k.k.Rotate(ctx)
}

func (k *keyManager) Rewrap(ctx context.Context, keys []strongroom.UserKey) (_ []strongroom.WrappedKey, err error) {
	defer k.done("rewrap", time.Now(), &err)
	return k.k.Rewrap(ctx, keys)
}

func (k *keyManager) Retire(ctx context.Context, below int) (err error) {
	defer k.done("retire", time.Now(), &err)
	return k.k.Retire(ctx, below)
}

func (k *keyManager) Versions(ctx context.Context) (_, _ int, err error) {
	defer k.done("versions", time.Now(), &err)
	return k.k.Versions(ctx)
}

func (k *keyManager) Ping(ctx context.Context) (err error) {
	defer k.done("ping", time.Now(), &err)
	return k.k.Ping(ctx)
}
