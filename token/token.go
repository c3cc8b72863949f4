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
	verified map[[sha256.Size]byte]verified
}

// verified is a verified token's claims as the cache holds them: the
// subject and id in binary (they are lowercase hex: an ObjectId and 16
// random bytes) and the times in nanoseconds, 48 bytes without pointers,
// so the collector never scans the cache. A token whose claims do not
// pack so (none this Issuer signs) is not cached.
type verified struct {
	subject         [12]byte
	id              [16]byte
	issued, expires int64
}

// pack returns c as the cache holds it, if its subject and id are the
// lowercase hex of 12 and 16 bytes.
func pack(c Claims) (verified, bool) {
	v := verified{issued: c.IssuedAt.UnixNano(), expires: c.ExpiresAt.UnixNano()}
	return v, unhex(v.subject[:], c.Subject) && unhex(v.id[:], c.ID)
}

// claims unpacks v.
func (v *verified) claims() Claims {
	return Claims{Subject: hex.EncodeToString(v.subject[:]), ID: hex.EncodeToString(v.id[:]),
		IssuedAt: time.Unix(0, v.issued), ExpiresAt: time.Unix(0, v.expires)}
}

// unhex decodes s, lowercase hex of exactly len(dst) bytes, into dst.
func unhex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := nibble(s[2*i])
		lo, ok2 := nibble(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func nibble(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// VerifiedCacheBytes bounds the memory the cache of verified tokens takes,
// and so maxVerified the tokens it holds: an entry is the token's hash (32
// bytes), its packed claims (48) and the map's share of its table, which
// with tokens coming and going (one evicted per one added) comes to
// 150–240 bytes in all, as the map's table falls (175 at 131 072 tokens:
// TestVerifiedCacheBytes measures it; 192 are counted). 24 MiB hold
// 131 072 tokens; past that a token not held costs one parse and HMAC
// (about 10 µs), not a store read.
const VerifiedCacheBytes = 24 << 20

// verifiedEntryBytes is what one cached token takes, as above.
const verifiedEntryBytes = 192

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
	return &Issuer{secret: append([]byte(nil), secret...), ttl: ttl, now: now, verified: map[[sha256.Size]byte]verified{}}, nil
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
	v, ok := i.verified[key]
	i.mu.RUnlock()
	if ok {
		if i.now().UnixNano() < v.expires {
			return v.claims(), nil
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
	c := Claims{Subject: rc.Subject, ID: rc.ID, IssuedAt: rc.IssuedAt.Time, ExpiresAt: rc.ExpiresAt.Time}
	if v, ok := pack(c); ok {
		i.remember(key, v)
	}
	return c, nil
}

// remember caches the claims of a verified token by its hash. Full, the
// cache drops one entry, the first the map's randomised walk finds,
// rather than all at once (which, with more tokens in use than it holds,
// kept it half empty on average).
func (i *Issuer) remember(key [sha256.Size]byte, v verified) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if len(i.verified) >= maxVerified {
		for k := range i.verified {
			delete(i.verified, k)
			break
		}
	}
	i.verified[key] = v
}
