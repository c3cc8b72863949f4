package token_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/strongroom/strongroom/token"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func mustIssuer(t testing.TB, c *clock) *token.Issuer {
	t.Helper()
	i, err := token.NewIssuer(secret, time.Hour, c.now)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestIssueVerify(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	i := mustIssuer(t, c)
	s, claims, err := i.Issue("65a000000000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	got, err := i.Verify(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "65a000000000000000000001" || got.ID != claims.ID || len(got.ID) != 32 {
		t.Fatalf("claims = %+v", got)
	}
	if want := c.t.Add(time.Hour); !got.ExpiresAt.Equal(want) {
		t.Fatalf("exp = %v, want %v", got.ExpiresAt, want)
	}
	_, c2, _ := i.Issue("x")
	if c2.ID == claims.ID {
		t.Fatal("two tokens share a jti")
	}
}

func segment(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestVerifyRefuses(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	i := mustIssuer(t, c)
	good, _, _ := i.Issue("user1")
	parts := strings.Split(good, ".")
	now := c.t.Unix()
	claims := map[string]any{"iss": "strongroom", "sub": "user1", "iat": now, "exp": now + 3600, "jti": "abc"}
	signed := func(m jwt.SigningMethod, key any, cl map[string]any) string {
		s, err := jwt.NewWithClaims(m, jwt.MapClaims(cl)).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	edited := map[string]any{"iss": "strongroom", "sub": "admin", "iat": now, "exp": now + 3600, "jti": "abc"}
	// The same claims and key pass: each case below fails for its own reason.
	if _, err := i.Verify(signed(jwt.SigningMethodHS256, secret, claims)); err != nil {
		t.Fatalf("the control token is refused: %v", err)
	}
	cases := []struct {
		name  string
		token string
	}{
		{"alg none", segment(map[string]string{"alg": "none", "typ": "JWT"}) + "." + segment(claims) + "."},
		{"alg none signed", signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims)},
		{"HS512", signed(jwt.SigningMethodHS512, secret, claims)},
		{"wrong key", signed(jwt.SigningMethodHS256, []byte("another secret of thirty-two bytes!"), claims)},
		{"edited claims", parts[0] + "." + segment(edited) + "." + parts[2]},
		{"no exp", signed(jwt.SigningMethodHS256, secret, map[string]any{"sub": "u", "iat": now, "jti": "a"})},
		{"no sub", signed(jwt.SigningMethodHS256, secret, map[string]any{"iat": now, "exp": now + 60, "jti": "a"})},
		{"no jti", signed(jwt.SigningMethodHS256, secret, map[string]any{"sub": "u", "iat": now, "exp": now + 60})},
		{"issued in the future", signed(jwt.SigningMethodHS256, secret, map[string]any{"sub": "u", "iat": now + 600, "exp": now + 3600, "jti": "a"})},
		{"no issuer (issued before sessions)", signed(jwt.SigningMethodHS256, secret, map[string]any{"sub": "u", "iat": now, "exp": now + 3600, "jti": "a"})},
		{"another issuer", signed(jwt.SigningMethodHS256, secret, map[string]any{"iss": "other", "sub": "u", "iat": now, "exp": now + 3600, "jti": "a"})},
		{"empty", ""},
		{"garbage", "a.b.c"},
		{"too long", good + strings.Repeat("A", token.MaxLen)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := i.Verify(tc.token); !errors.Is(err, token.ErrInvalid) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalid", got, err)
			}
		})
	}
}

func TestExpiry(t *testing.T) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	i := mustIssuer(t, c)
	s, _, _ := i.Issue("user1")
	c.t = c.t.Add(59 * time.Minute)
	if _, err := i.Verify(s); err != nil {
		t.Fatalf("token refused before expiry: %v", err)
	}
	c.t = c.t.Add(time.Minute + time.Second)
	if _, err := i.Verify(s); !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("expired token accepted: %v", err)
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := token.NewIssuer([]byte("short"), time.Hour, nil); err == nil {
		t.Fatal("short secret accepted")
	}
}

func FuzzVerify(f *testing.F) {
	c := &clock{time.Unix(1_700_000_000, 0)}
	i := mustIssuer(f, c)
	good, _, _ := i.Issue("user1")
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		claims, err := i.Verify(s)
		if err == nil && claims.Subject != "user1" {
			t.Fatalf("forged token accepted: %q", s)
		}
	})
}
