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
	dummy   string        // a real bcrypt hash, compared for unknown users
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
	if cost < minCost || cost > maxCost {
		return nil, fmt.Errorf("password: bcrypt cost %d out of range", cost)
	}
	n := runtime.NumCPU()
	h := &Hasher{
		pepper:  append([]byte(nil), pepper...),
		cost:    cost,
		slots:   make(chan struct{}, n),
		waiters: make(chan struct{}, 16*n),
	}
	dummy, err := bcryptHash(h.prehash("00000000000000000000000000000000", "dummy password"), cost, make([]byte, saltBytes))
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
// from r, hex) it was made with; bcrypt's own 16-byte salt is read from r
// too.
func (h *Hasher) Hash(ctx context.Context, r io.Reader, password string) (hash, salt string, err error) {
	var b [16 + saltBytes]byte // our salt, then bcrypt's
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", "", fmt.Errorf("password: salt: %w", err)
	}
	salt = hex.EncodeToString(b[:16])
	if err := h.acquire(ctx); err != nil {
		return "", "", err
	}
	defer h.release()
	hash, err = bcryptHash(h.prehash(salt, password), h.cost, b[16:])
	if err != nil {
		return "", "", err
	}
	return hash, salt, nil
}

// Verify reports whether password matches the stored hash and salt. It
// returns ErrBusy, and false, when the pool is full.
func (h *Hasher) Verify(ctx context.Context, password, hash, salt string) (bool, error) {
	slot, err := h.Reserve(ctx)
	if err != nil {
		return false, err
	}
	return slot.Verify(password, hash, salt), nil
}

// VerifyDummy does the work of a Verify that fails, so an unknown username
// takes as long to refuse as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	slot, err := h.Reserve(ctx)
	if err != nil {
		return err
	}
	slot.VerifyDummy(password)
	return nil
}

// Slot is a reserved place in the hashing pool: reserving first lets a
// caller refuse an overloaded request before doing any other work for it.
// A Slot is used for one compare, which releases it, or Released.
type Slot struct {
	h    *Hasher
	used bool
}

// Reserve takes a place in the pool, waiting in a bounded queue while ctx
// allows; ErrBusy when the queue is full.
func (h *Hasher) Reserve(ctx context.Context) (*Slot, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return &Slot{h: h}, nil
}

// Release gives the place back without using it; a no-op after a compare.
func (s *Slot) Release() {
	if !s.used {
		s.used = true
		s.h.release()
	}
}

// Verify reports whether password matches hash and salt, and releases the slot.
func (s *Slot) Verify(password, hash, salt string) bool {
	defer s.Release()
	ok, _ := bcryptCompare(hash, s.h.prehash(salt, password))
	return ok
}

// VerifyDummy does a failing compare's work, and releases the slot.
func (s *Slot) VerifyDummy(password string) {
	defer s.Release()
	_, _ = bcryptCompare(s.h.dummy, s.h.prehash("11111111111111111111111111111111", password))
}
