// Package password hashes and checks account passwords.
//
// The stored hash is bcrypt over base64(HMAC-SHA256(pepper, salt ‖ password)).
// The HMAC makes every input to bcrypt 44 bytes, so passwords longer than
// bcrypt's 72-byte limit are not cut off (the seed appended the pepper after
// the password, where bcrypt could drop it), and the pepper, kept outside the
// database, means a stolen database alone cannot be attacked offline.
// bcrypt runs in a bounded pool so a flood of logins queues a bounded number
// of hashes and refuses the rest quickly instead of starving the server, and
// one client may take only a fair share of it (see share.go), so a flood
// from one address cannot take every place.
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
	"sync"
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
	share   int           // places (slot or queue) one client may hold at once

	mu      sync.Mutex
	clients map[string]*clientShare // clients with a reservation in progress
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
	// At least two slots, so that one client's share never covers the pool.
	n := max(2, runtime.NumCPU())
	h := &Hasher{
		pepper:  append([]byte(nil), pepper...),
		cost:    cost,
		slots:   make(chan struct{}, n),
		waiters: make(chan struct{}, 16*n),
		share:   max(1, n/4),
		clients: map[string]*clientShare{},
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
	slot, err := h.Reserve(ctx, "")
	if err != nil {
		return "", "", err
	}
	return slot.Hash(r, password)
}

// Verify reports whether password matches the stored hash and salt. It
// returns ErrBusy, and false, when the pool is full.
func (h *Hasher) Verify(ctx context.Context, password, hash, salt string) (bool, error) {
	slot, err := h.Reserve(ctx, "")
	if err != nil {
		return false, err
	}
	return slot.Verify(password, hash, salt), nil
}

// VerifyDummy does the work of a Verify that fails, so an unknown username
// takes as long to refuse as a wrong password.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	slot, err := h.Reserve(ctx, "")
	if err != nil {
		return err
	}
	slot.VerifyDummy(password)
	return nil
}

// Slot is a reserved place in the hashing pool: reserving first lets a
// caller refuse an overloaded request before doing any other work for it.
// A Slot is used for one compare or hash, which releases it, or Released.
type Slot struct {
	h      *Hasher
	used   bool
	client string
	share  *clientShare // nil for a reservation on no client's behalf
}

// Reserve takes a place in the pool on behalf of client (its address, for
// the fair share; "" for none), waiting in a bounded queue while ctx
// allows. It returns ErrClientBusy when client already holds its share and
// its own short queue is full, ErrBusy when the pool's queue is full.
func (h *Hasher) Reserve(ctx context.Context, client string) (*Slot, error) {
	s := &Slot{h: h}
	if client != "" {
		c, err := h.takeShare(ctx, client)
		if err != nil {
			return nil, err
		}
		s.client, s.share = client, c
	}
	if err := h.acquire(ctx); err != nil {
		s.leaveShare()
		return nil, err
	}
	return s, nil
}

// Release gives the place back without using it; a no-op after a compare.
func (s *Slot) Release() {
	if !s.used {
		s.used = true
		s.h.release()
		s.leaveShare()
	}
}

func (s *Slot) leaveShare() {
	if s.share != nil {
		s.h.giveShare(s.client, s.share)
		s.share = nil
	}
}

// Hash returns a new hash of password as Hasher.Hash does, and releases
// the slot.
func (s *Slot) Hash(r io.Reader, password string) (hash, salt string, err error) {
	defer s.Release()
	var b [16 + saltBytes]byte // our salt, then bcrypt's
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", "", fmt.Errorf("password: salt: %w", err)
	}
	salt = hex.EncodeToString(b[:16])
	hash, err = bcryptHash(s.h.prehash(salt, password), s.h.cost, b[16:])
	if err != nil {
		return "", "", err
	}
	return hash, salt, nil
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
