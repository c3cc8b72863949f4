// Package password hashes and checks account passwords.
//
// The stored hash is bcrypt over base64(HMAC-SHA256(pepper, salt ‖ password)).
// The HMAC makes every input to bcrypt 44 bytes, so passwords longer than
// bcrypt's 72-byte limit are not cut off (the seed appended the pepper after
// the password, where bcrypt could drop it), and the pepper, kept outside the
// database, means a stolen database alone cannot be attacked offline.
// bcrypt runs in a bounded pool so a flood of logins queues a bounded number
// of hashes and refuses the rest quickly instead of starving the server.
package password

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"

	"golang.org/x/crypto/bcrypt"
)

// MinCost is the lowest bcrypt cost a deployment may configure.
const MinCost = 10

// DefaultCost is the bcrypt cost of the seed design.
const DefaultCost = 12

// ErrBusy is returned when the hashing pool is full: the caller should
// answer "try again later" rather than wait.
var ErrBusy = errors.New("password: too many password checks in progress")

// Hasher hashes and verifies passwords. It is safe for concurrent use.
type Hasher struct {
	pepper  []byte
	cost    int
	dummy   []byte        // a real bcrypt hash, compared for unknown users
	slots   chan struct{} // hashes running at once
	waiters chan struct{} // hashes allowed to wait for a slot
}

// New returns a Hasher for the pepper and bcrypt cost. Cost is not
// checked against MinCost here (tests use bcrypt's minimum to run fast); the
// configuration enforces it. It computes one hash up front for the
// unknown-user compare.
func New(pepper []byte, cost int) (*Hasher, error) {
	if len(pepper) < 16 {
		return nil, errors.New("password: pepper must be at least 16 bytes")
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("password: bcrypt cost %d out of range", cost)
	}
	n := runtime.GOMAXPROCS(0)
	h := &Hasher{
		pepper:  append([]byte(nil), pepper...),
		cost:    cost,
		slots:   make(chan struct{}, n),
		waiters: make(chan struct{}, 16*n),
	}
	dummy, err := bcrypt.GenerateFromPassword(h.prehash("00000000000000000000000000000000", "dummy password"), cost)
	if err != nil {
		return nil, fmt.Errorf("password: dummy hash: %w", err)
	}
	h.dummy = dummy
	return h, nil
}

// Cost returns the bcrypt cost of new hashes.
func (h *Hasher) Cost() int { return h.cost }

func (h *Hasher) prehash(salt, password string) []byte {
	m := hmac.New(sha256.New, h.pepper)
	m.Write([]byte(salt))
	m.Write([]byte(password))
	sum := m.Sum(nil)
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum)
	return out
}

// acquire takes a hashing slot, waiting while ctx allows if the queue has
// room; ErrBusy if it has none.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case h.waiters <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-h.waiters }()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ErrBusy
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns a new bcrypt hash of password and the random salt (16 bytes
// from r, hex) it was made with.
func (h *Hasher) Hash(ctx context.Context, r io.Reader, password string) (hash, salt string, err error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", "", fmt.Errorf("password: salt: %w", err)
	}
	salt = hex.EncodeToString(b[:])
	if err := h.acquire(ctx); err != nil {
		return "", "", err
	}
	defer h.release()
	out, err := bcrypt.GenerateFromPassword(h.prehash(salt, password), h.cost)
	if err != nil {
		return "", "", fmt.Errorf("password: hash: %w", err)
	}
	return string(out), salt, nil
}

// Verify reports whether password matches the stored hash and salt. It
// returns ErrBusy, and false, when the pool is full.
func (h *Hasher) Verify(ctx context.Context, password, hash, salt string) (bool, error) {
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	defer h.release()
	return bcrypt.CompareHashAndPassword([]byte(hash), h.prehash(salt, password)) == nil, nil
}

// VerifyDummy does the work of a Verify that fails, so an unknown username
// takes as long to refuse as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	_ = bcrypt.CompareHashAndPassword(h.dummy, h.prehash("11111111111111111111111111111111", password))
	return nil
}
