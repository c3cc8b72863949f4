// Package token issues and verifies the API's bearer tokens: JWTs signed
// with HS256, carrying iss, sub, iat, exp and jti. Only HS256 is accepted,
// so a token cannot switch the algorithm (alg "none", RS256 with the
// secret as a public key, ...).
package token

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// DefaultTTL is how long a token is valid: one hour, as in the seed.
const DefaultTTL = time.Hour

// IssuerName is every token's iss claim. A token without it was issued
// before sessions were kept (its jti names no stored session, so it could
// not be ended) and is refused.
const IssuerName = "strongroom"

// MaxLen bounds the size of a token the verifier will parse.
const MaxLen = 4096

// ErrInvalid is returned for every token that is not accepted. The reason
// is not told to the client.
var ErrInvalid = errors.New("token: invalid or expired")

// Claims is what a valid token says.
type Claims struct {
	Subject   string
	ID        string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Issuer signs and verifies tokens with one secret.
type Issuer struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	// verified remembers tokens that passed every check, so a client that
	// sends the same token on every request costs one map lookup, not a
	// JSON parse and an HMAC. Expiry is still checked on every hit.
	mu       sync.RWMutex
	verified map[string]Claims
}

// maxVerified bounds the cache of verified tokens.
const maxVerified = 10_000

// NewIssuer returns an Issuer; the secret must be at least 32 bytes.
func NewIssuer(secret []byte, ttl time.Duration, now func() time.Time) (*Issuer, error) {
	if len(secret) < 32 {
		return nil, errors.New("token: secret must be at least 32 bytes")
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{secret: append([]byte(nil), secret...), ttl: ttl, now: now, verified: map[string]Claims{}}, nil
}

// Issue returns a signed token for subject.
func (i *Issuer) Issue(subject string) (string, Claims, error) {
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", Claims{}, fmt.Errorf("token: jti: %w", err)
	}
	now := i.now().Truncate(time.Second)
	c := Claims{Subject: subject, ID: hex.EncodeToString(jti[:]), IssuedAt: now, ExpiresAt: now.Add(i.ttl)}
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Issuer:    IssuerName,
		Subject:   c.Subject,
		ID:        c.ID,
		IssuedAt:  jwt.NewNumericDate(c.IssuedAt),
		ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
	})
	s, err := t.SignedString(i.secret)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: sign: %w", err)
	}
	return s, c, nil
}

// Verify checks a token's signature, algorithm and times and returns its
// claims, or ErrInvalid.
func (i *Issuer) Verify(s string) (Claims, error) {
	if s == "" || len(s) > MaxLen {
		return Claims{}, ErrInvalid
	}
	i.mu.RLock()
	c, ok := i.verified[s]
	i.mu.RUnlock()
	if ok {
		if i.now().Before(c.ExpiresAt) {
			return c, nil
		}
		i.mu.Lock()
		delete(i.verified, s)
		i.mu.Unlock()
		return Claims{}, ErrInvalid
	}
	var rc jwt.RegisteredClaims
	_, err := jwt.ParseWithClaims(s, &rc, func(*jwt.Token) (any, error) { return i.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(i.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(IssuerName),
	)
	if err != nil || rc.Subject == "" || rc.ID == "" || rc.IssuedAt == nil {
		return Claims{}, ErrInvalid
	}
	c = Claims{Subject: rc.Subject, ID: rc.ID, IssuedAt: rc.IssuedAt.Time, ExpiresAt: rc.ExpiresAt.Time}
	i.mu.Lock()
	if len(i.verified) >= maxVerified {
		clear(i.verified) // crude but bounded; the hot tokens come back at once
	}
	i.verified[s] = c
	i.mu.Unlock()
	return c, nil
}
