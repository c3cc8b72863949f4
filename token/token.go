// Package token issues and verifies the API's bearer tokens: JWTs signed
// with HS256, carrying iss, sub, iat, exp and jti. Only HS256 is accepted,
// so a token cannot switch the algorithm (alg "none", RS256 with the
// secret as a public key, ...).
package token

import (
	"crypto/rand"
	"crypto/sha256"
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

	// verified remembers tokens that passed every check, by their
	// SHA-256, so a client that sends the same token on every request
	// costs a hash and a map lookup, not a JSON parse and an HMAC. Expiry
	// is still checked on every hit.
	mu       sync.RWMutex
	verified map[[sha256.Size]byte]Claims
}

// VerifiedCacheBytes bounds the memory the cache of verified tokens takes,
// and so maxVerified the tokens it holds: an entry is the token's hash (32
// bytes), its claims (two strings of 24 and 32 bytes with their headers,
// two times) and the map's share, which with tokens coming and going (one
// evicted per one added) settles at 290–370 bytes in all, as the map's
// table falls (TestVerifiedCacheBytes measures it; 400 are counted). 16
// MiB hold about 42 000 tokens; past that a token not held costs one
// parse and HMAC (about 5 µs), not a store read.
const VerifiedCacheBytes = 16 << 20

// verifiedEntryBytes is what one cached token takes, as above.
const verifiedEntryBytes = 400

const maxVerified = VerifiedCacheBytes / verifiedEntryBytes

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
	return &Issuer{secret: append([]byte(nil), secret...), ttl: ttl, now: now, verified: map[[sha256.Size]byte]Claims{}}, nil
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
	key := sha256.Sum256([]byte(s))
	i.mu.RLock()
	c, ok := i.verified[key]
	i.mu.RUnlock()
	if ok {
		if i.now().Before(c.ExpiresAt) {
			return c, nil
		}
		i.mu.Lock()
		delete(i.verified, key)
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
	i.remember(key, c)
	return c, nil
}

// remember caches the claims of a verified token by its hash. Full, the
// cache drops one entry, the first the map's randomised walk finds,
// rather than all at once (which, with more tokens in use than it holds,
// kept it half empty on average).
func (i *Issuer) remember(key [sha256.Size]byte, c Claims) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.verified) >= maxVerified {
		for k := range i.verified {
			delete(i.verified, k)
			break
		}
	}
	i.verified[key] = c
}
